"""A model API on 127.0.0.1 for the real agent CLIs (see ``core``)."""

from tests.realcli.mock.core import Call, Failure, MockModelAPI, Recorded, Reply, Text, say

__all__ = ["Call", "Failure", "MockModelAPI", "Recorded", "Reply", "Text", "say"]

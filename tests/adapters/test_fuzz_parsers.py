"""Every parser of outside input, fuzzed: no unexpected exception escapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentls.adapters.base import TaskRequest
from agentls.adapters.registry import AdapterRegistry
from agentls.adapters.runner import ProcessOutcome
from agentls.domain.config import AgentConfig, Settings
from agentls.domain.errors import ConfigError
from agentls.domain.results import LineRange, TaskKind
from agentls.orchestration.code_blocks import edits_from_blocks
from agentls.orchestration.config_loader import load_config
from tests.conftest import write_trusted

ADAPTERS = ["claude", "codex", "gemini", "copilot", "ruff", "command"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
event_keys = st.sampled_from(
    [
        "type",
        "result",
        "subtype",
        "is_error",
        "session_id",
        "item",
        "usage",
        "data",
        "message",
        "role",
        "content",
        "status",
        "error",
        "stats",
        "response",
        "thread_id",
        "sessionId",
    ]
)
events = st.dictionaries(event_keys, json_values, max_size=6)
outputs = st.one_of(
    st.text(max_size=400),
    st.lists(events, max_size=8).map(lambda items: "\n".join(json.dumps(i) for i in items)),
    st.lists(events, max_size=4).map(json.dumps),
)


def request(tmp: Path, task: TaskKind) -> TaskRequest:
    return TaskRequest(
        task=task,
        prompt="p",
        workspace=tmp,
        target="m.py",
        file_text="a\nb\nc\n",
        selection=LineRange(start=1, end=2),
    )


@pytest.mark.parametrize("name", ADAPTERS)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stdout=outputs, stderr=st.text(max_size=200), code=st.sampled_from([0, 1, 2, 41, 53, -9]))
def test_adapters_read_any_output(
    name: str, tmp_path: Path, stdout: str, stderr: str, code: int
) -> None:
    adapter_class = AdapterRegistry.default().find(name)
    assert adapter_class is not None
    config = AgentConfig(adapter=name, command=["x"] if name == "command" else None)
    adapter = adapter_class(name, config, Settings())
    outcome = ProcessOutcome(exit_code=code, stdout=stdout, stderr=stderr, duration_s=0.1)
    for task in (TaskKind.REVIEW, TaskKind.IMPLEMENT):
        reply = adapter.read(request(tmp_path, task), outcome)
        assert reply.error is None or reply.error.message
        for line in stdout.splitlines()[:20]:
            adapter.progress_line(line)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet=st.sampled_from(list("`~ \npath=../x.py\tabc/")), max_size=200))
def test_code_blocks_read_any_reply(tmp_path: Path, text: str) -> None:
    result = edits_from_blocks(text, tmp_path, "m.py", "a\nb\n", LineRange(start=1, end=1))
    for edit in result.edits:
        assert not edit.path.startswith("..") and not edit.path.startswith("/")


yaml_text = st.text(
    alphabet=st.sampled_from(list("agents:settings{}[]-:, \n\t'\"#&*!|>0123x")), max_size=120
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=yaml_text)
def test_configuration_files_fail_only_with_config_errors(tmp_path: Path, text: str) -> None:
    write_trusted(tmp_path / ".agentls.yaml", text)
    try:
        load_config(tmp_path)
    except ConfigError as error:
        assert ".agentls.yaml" in str(error) or "configuration" in str(error)

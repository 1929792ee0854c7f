"""Fixtures for the Emacs (eglot) end-to-end tests (see harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.emacs.harness import Emacs, find_emacs

EMACS = find_emacs()


@pytest.fixture
def emacs(workspace: Path, tmp_path: Path) -> Emacs:
    """Batch Emacs sessions on the workspace of tests/conftest.py (calc.py)."""
    if EMACS is None:
        pytest.skip("no Emacs with eglot: `make emacs` installs them from Debian")
    return Emacs(EMACS, workspace, tmp_path / "emacs")

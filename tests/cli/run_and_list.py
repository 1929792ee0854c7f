"""Test driver, run as a script (inside a bubblewrap sandbox whose mounts vanish with it).

``python run_and_list.py OUT FOLDER -- ARGV...`` runs ARGV (in the current folder), then writes
to OUT, as JSON, its exit code, stdout and stderr, and every file under FOLDER with its bytes
(hex), so the test can see what the sandbox's filesystem held when the command was done.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main() -> None:
    out, folder, separator, *argv = sys.argv[1:]
    assert separator == "--", "usage: run_and_list.py OUT FOLDER -- ARGV..."
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    root = Path(folder)
    listing = {
        str(path.relative_to(root)): path.read_bytes().hex()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    report = {
        "returncode": done.returncode,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "files": listing,
    }
    Path(out).write_text(json.dumps(report))


if __name__ == "__main__":
    main()

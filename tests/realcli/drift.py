"""Which real-CLI checks change with the newest npm releases (``make realcli-latest``).

Installs the newest version of each CLI beside the pinned ones, runs the tier against both,
and prints the versions and every check whose outcome differs. Exit 0 when none does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def outcomes(which: str) -> dict[str, str]:
    """Each check's outcome (passed, failed, skipped) against the ``which`` versions."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.xml"
        env = {**os.environ, "AGENTLS_REALCLI": which}
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", str(HERE),
             f"--junitxml={report}"],
            cwd=ROOT, env=env, check=False,
        )  # fmt: skip
        found = {}
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            name = f"{case.get('classname')}::{case.get('name')}"
            kinds = {child.tag for child in case}
            found[name] = (
                "failed"
                if kinds & {"failure", "error"}
                else "skipped"
                if "skipped" in kinds
                else "passed"
            )
        return found


def main() -> None:
    subprocess.run([sys.executable, str(HERE / "install.py")], check=True)
    subprocess.run([sys.executable, str(HERE / "install.py"), "--latest"], check=True)
    from tests.realcli.install import LATEST, pinned

    latest = json.loads(LATEST.read_text())
    for name, spec in pinned().items():
        print(f"{name}: pinned {spec['version']}, newest {latest[name]['version']}")
    before, after = outcomes("pinned"), outcomes("latest")
    changed = sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))
    for name in changed:
        print(f"changed: {name}: {before.get(name, 'absent')} -> {after.get(name, 'absent')}")
    print(f"{len(changed)} of {len(before)} checks changed with the newest versions")
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()

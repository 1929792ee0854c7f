"""Prompts for each task kind, and the reply contract each one asks for.

Code shown for review and explain is numbered with the file's own 1-based line numbers, whatever
the selection, so findings point at real lines. ``PROMPT_VERSION`` changes whenever the text
below changes in a way that could change answers (cache keys use it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from agentls.domain.lines import lines as text_lines
from agentls.domain.results import LineRange, TaskKind

PROMPT_VERSION = "2"

DEFAULT_INSTRUCTIONS = {
    TaskKind.IMPLEMENT: "Implement what the code's comments, docstrings and TODOs ask for.",
    TaskKind.REVIEW: "Review this code for bugs, security problems, and unclear or fragile code.",
    TaskKind.REFINE: "Improve this code: fix problems, simplify, keep its behaviour.",
    TaskKind.EXPLAIN: "Explain what this code does, how, and anything surprising in it.",
}

_ROLES = {
    TaskKind.IMPLEMENT: "You are implementing a change in a code base.",
    TaskKind.REVIEW: "You are reviewing code.",
    TaskKind.REFINE: "You are refining code.",
    TaskKind.EXPLAIN: "You are explaining code to a colleague.",
}

_LANGUAGES = {
    ".py": "python",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript",
    ".jsx": "jsx",
    ".rs": "rust",
    ".go": "go",
    ".java": "java",
    ".kt": "kotlin",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".lua": "lua",
    ".sh": "bash",
    ".md": "markdown",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
    ".sql": "sql",
    ".swift": "swift",
}

_REVIEW_CONTRACT = """\
Reply with the findings as JSON in one ```json block, and nothing else:
{"findings": [{"line": 12, "end_line": 14, "severity": "warning", "message": "...", \
"code": "short-id", "suggestion": "..."}]}
- "line" and "end_line" are the file's own line numbers, as numbered above (1-based).
- "severity" is one of error, warning, info, hint.
- "suggestion" (optional) is the complete replacement text for lines line..end_line.
- Report only real problems in the lines under review. With nothing to report, reply \
{"findings": []}."""

_EDIT_CONTRACT = """\
Reply with the complete new text of {what} in exactly one fenced code block (```{language}).
To create or replace another file of the workspace as well, add one block per file whose \
info string names it, e.g. ```{language} path=relative/path/to/file.
Do not edit files yourself and do not include line numbers."""

_AGENTIC_CONTRACT = """\
Make the change yourself: edit {what} in the working directory with your tools, and create, \
change or delete any other file of the workspace the task needs. You work in a copy of the \
workspace; agentls shows your changes to the user, who reviews them before anything is \
applied. Change only what the task needs. When you are done, reply with a short summary of \
what you changed."""


@dataclass(frozen=True)
class PromptContext:
    path: str
    file_text: str
    selection: LineRange | None = None
    instruction: str | None = None
    feedback: str | None = None
    """What an earlier step said about this code (review findings for a refine)."""
    neighbours: tuple[str, ...] = ()
    """Other files in the file's folder, so the agent knows where it is."""
    agentic: bool = False
    """The agent edits the files itself (in a sandbox) instead of replying with code."""


def language_of(path: str) -> str:
    return _LANGUAGES.get(PurePosixPath(path).suffix.lower(), "")


def build_prompt(task: TaskKind, context: PromptContext, max_context_bytes: int) -> str:
    lines = text_lines(context.file_text)
    language = language_of(context.path)
    selection = context.selection
    scope = (
        f"lines {selection.start}-{selection.end} of {context.path}"
        if selection is not None
        else context.path
    )
    parts = [
        _ROLES[task],
        f"## Task\n{(context.instruction or DEFAULT_INSTRUCTIONS[task]).strip()}",
    ]
    if context.feedback:
        parts.append(f"## Feedback to address\n{context.feedback.strip()}")
    parts.append(_workspace(context))
    start, end = _window(lines, selection, max_context_bytes)
    cut = start > 1 or end < len(lines)
    shown = f"lines {start}-{end} of {len(lines)}" if cut else "the whole file"
    if task in (TaskKind.REVIEW, TaskKind.EXPLAIN):
        parts.append(
            f"## File {context.path} ({shown}, numbered as in the file)\n"
            + _numbered(lines, start, end)
        )
        if selection is not None:
            focus = "Review" if task is TaskKind.REVIEW else "Explain"
            parts.append(f"{focus} only {scope}; the rest is context.")
        if task is TaskKind.REVIEW:
            parts.append(_REVIEW_CONTRACT)
        else:
            parts.append("Reply in concise markdown.")
        return "\n\n".join(parts) + "\n"
    fence = "`" * max(3, _longest_backtick_run(context.file_text) + 1)
    if selection is not None:
        body = "\n".join(lines[start - 1 : end])
        parts.append(
            f"## File {context.path} ({shown}), for context\n{fence}{language}\n{body}\n{fence}"
        )
        selected = "\n".join(lines[selection.start - 1 : selection.end])
        parts.append(f"## Code to replace ({scope})\n{fence}{language}\n{selected}\n{fence}")
        what = f"{scope} (only those lines, as they should read afterwards)"
    else:
        body = "\n".join(lines[start - 1 : end])
        parts.append(f"## File {context.path} ({shown})\n{fence}{language}\n{body}\n{fence}")
        what = f"the file {context.path}"
    if context.agentic:
        where = scope if selection is not None else f"the file {context.path}"
        parts.append(_AGENTIC_CONTRACT.format(what=where))
    else:
        parts.append(_EDIT_CONTRACT.format(what=what, language=language))
    return "\n\n".join(parts) + "\n"


def _workspace(context: PromptContext) -> str:
    text = f"## Workspace\nThe working directory is the workspace root; the file is {context.path}."
    if context.neighbours:
        text += " Other files beside it: " + ", ".join(context.neighbours) + "."
    return text


def _numbered(lines: list[str], start: int, end: int) -> str:
    width = len(str(end))
    return "\n".join(f"{n:>{width}} | {lines[n - 1]}" for n in range(start, end + 1))


def _window(lines: list[str], selection: LineRange | None, budget: int) -> tuple[int, int]:
    """The 1-based line span to show: the whole file if it fits, else around the selection."""
    if not lines:
        return 1, 0
    sizes = [len(line.encode("utf-8")) + 1 for line in lines]
    if sum(sizes) <= budget:
        return 1, len(lines)
    first, last = (selection.start, max(selection.end, selection.start)) if selection else (1, 1)
    first, last = min(first, len(lines)), min(last, len(lines))
    used = sum(sizes[first - 1 : last])
    while True:
        grew = False
        if first > 1 and used + sizes[first - 2] <= budget:
            first -= 1
            used += sizes[first - 1]
            grew = True
        if last < len(lines) and used + sizes[last] <= budget:
            last += 1
            used += sizes[last - 1]
            grew = True
        if not grew:
            return first, last


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)

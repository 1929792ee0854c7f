from __future__ import annotations

import re

from agentls.domain.results import LineRange, TaskKind
from agentls.orchestration.prompts import PromptContext, build_prompt

FILE = "".join(f"line_{n} = {n}\n" for n in range(1, 201))


def test_review_numbers_lines_as_the_file_does_whatever_the_selection() -> None:
    prompt = build_prompt(
        TaskKind.REVIEW,
        PromptContext(path="m.py", file_text=FILE, selection=LineRange(start=120, end=125)),
        max_context_bytes=100_000,
    )
    assert "120 | line_120 = 120" in prompt
    assert "Review only lines 120-125 of m.py" in prompt
    assert '{"findings": []}' in prompt


def test_large_files_are_cut_around_the_selection_keeping_numbers() -> None:
    prompt = build_prompt(
        TaskKind.REVIEW,
        PromptContext(path="m.py", file_text=FILE, selection=LineRange(start=150, end=151)),
        max_context_bytes=400,
    )
    numbers = [int(n) for n in re.findall(r"^\s*(\d+) \| line_\1 ", prompt, re.MULTILINE)]
    assert 150 in numbers and 151 in numbers
    assert numbers == list(range(numbers[0], numbers[-1] + 1))
    assert numbers[0] > 1 and numbers[-1] < 200


def test_implement_shows_plain_code_and_asks_for_one_block() -> None:
    prompt = build_prompt(
        TaskKind.IMPLEMENT,
        PromptContext(
            path="m.py", file_text=FILE, selection=LineRange(start=3, end=4), instruction="Add x"
        ),
        max_context_bytes=100_000,
    )
    assert "## Task\nAdd x" in prompt
    assert "```python\nline_3 = 3\nline_4 = 4\n```" in prompt
    assert "exactly one fenced code block" in prompt
    assert " | line_3" not in prompt


def test_code_with_fences_gets_a_longer_fence() -> None:
    prompt = build_prompt(
        TaskKind.REFINE,
        PromptContext(path="README.md", file_text="```sh\nls\n```\n"),
        max_context_bytes=100_000,
    )
    assert "````markdown\n```sh" in prompt


def test_the_prompt_says_where_the_file_is() -> None:
    prompt = build_prompt(
        TaskKind.EXPLAIN,
        PromptContext(path="pkg/m.py", file_text="x = 1\n", neighbours=("a.py", "sub/")),
        max_context_bytes=100_000,
    )
    assert "the file is pkg/m.py. Other files beside it: a.py, sub/." in prompt


def test_an_agentic_step_is_asked_to_edit_the_files_itself() -> None:
    for task in (TaskKind.IMPLEMENT, TaskKind.REFINE):
        for selection in (None, LineRange(start=3, end=4)):
            prompt = build_prompt(
                task,
                PromptContext(path="m.py", file_text=FILE, selection=selection, agentic=True),
                max_context_bytes=100_000,
            )
            assert "Make the change yourself" in prompt
            assert "Do not edit files yourself" not in prompt
            assert "exactly one fenced code block" not in prompt

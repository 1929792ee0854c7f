"""What a prompt points at, read from the blocks Zed and other clients send (no process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from acp import (
    embedded_text_resource,
    image_block,
    resource_block,
    resource_link_block,
    text_block,
)

from agentls.acp_agent.prompt_target import Mention, mentions, read_target
from agentls.domain.errors import TaskInputError, UnsafePathError
from agentls.domain.results import LineRange


def embedded(uri: str) -> object:
    return resource_block(embedded_text_resource(uri, "the mention's text"))


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///ws/calc.py", Mention("/ws/calc.py")),
        ("file:///ws/calc.py#L5:6", Mention("/ws/calc.py", LineRange(start=5, end=6))),
        ("file:///ws/calc.py#L5-L9", Mention("/ws/calc.py", LineRange(start=5, end=9))),
        ("file:///ws/calc.py#L7", Mention("/ws/calc.py", LineRange(start=7, end=7))),
        ("file:///ws/calc.py?symbol=mean#L5:6", Mention("/ws/calc.py", LineRange(start=5, end=6))),
        ("file:///ws/calc.py?column=3#L2:4", Mention("/ws/calc.py", LineRange(start=2, end=4))),
        ("file:///ws/my%20file.py", Mention("/ws/my file.py")),
        ("file:///ws/src/", Mention("/ws/src/", folder=True)),
        ("calc.py", Mention("calc.py")),
    ],
)
def test_a_mention_is_a_path_and_perhaps_lines(uri: str, expected: Mention) -> None:
    for block in (resource_link_block("name", uri), embedded(uri)):
        assert mentions([block]) == ([expected], None)


@pytest.mark.parametrize(
    "uri",
    ["zed:///agent/thread/abc?name=Earlier", "https://example.com/page", "zed:///agent/rule/x"],
)
def test_what_is_not_a_file_is_context_agentls_leaves_alone(uri: str) -> None:
    assert mentions([resource_link_block("x", uri)]) == ([], None)


def test_the_text_around_the_mentions_is_the_instruction() -> None:
    blocks = [
        text_block("Make "),
        resource_link_block("calc.py", "file:///ws/calc.py"),
        text_block(" handle\nempty lists  "),
        image_block("aGk=", "image/png"),
    ]
    found, instruction = mentions(blocks)
    assert found == [Mention("/ws/calc.py")]
    assert instruction == "Make handle\nempty lists"


async def test_a_folder_stands_for_its_files(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    for name in ("a.py", "b.py"):
        (tmp_path / "src" / name).write_text("x = 1\n")
    (tmp_path / "calc.py").write_text("y = 2\n")
    blocks = [
        resource_link_block("src", (tmp_path / "src").as_uri() + "/"),
        resource_link_block("calc.py", (tmp_path / "calc.py").as_uri()),
        resource_link_block("again", (tmp_path / "src" / "a.py").as_uri()),
    ]
    target = await read_target(blocks, tmp_path)
    assert target.files == ("src/a.py", "src/b.py", "calc.py")
    assert target.selection is None and target.instruction is None


async def test_a_selection_needs_a_single_file(tmp_path: Path) -> None:
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text("x = 1\ny = 2\n")
    one = await read_target([embedded((tmp_path / "a.py").as_uri() + "#L2:2")], tmp_path)
    assert (one.files, one.selection) == (("a.py",), LineRange(start=2, end=2))
    with pytest.raises(TaskInputError, match="a selection needs a single file"):
        await read_target(
            [embedded((tmp_path / "a.py").as_uri() + "#L1:2"), resource_link_block("b", "b.py")],
            tmp_path,
        )


async def test_no_mention_and_git_s_own_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TaskInputError, match="mention a file with @"):
        await read_target([text_block("review everything")], tmp_path)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[core]\n")
    with pytest.raises(UnsafePathError):
        await read_target([resource_link_block("config", ".git/config")], tmp_path)

"""--shard I/N: every file in exactly one shard, the same split in every process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentls.ci.shard import Shard, shard_of
from agentls.domain.errors import TaskInputError

paths = st.lists(st.text(min_size=1, max_size=40), unique=True, max_size=60)


@given(paths, st.integers(min_value=1, max_value=12))
def test_every_file_is_in_exactly_one_shard(files: list[str], total: int) -> None:
    shards = [Shard(index, total).select(files) for index in range(1, total + 1)]
    assert sorted(f for shard in shards for f in shard) == sorted(files)
    for shard in shards:  # each keeps the order it was given
        assert shard == [f for f in files if f in shard]


def test_the_split_is_the_same_in_another_process() -> None:
    """No per-process hash seed: a matrix's jobs agree without talking to each other."""
    names = ["src/app.py", "docs/ü nicode.md", "a"]
    here = [shard_of(name, 7) for name in names]
    code = f"from agentls.ci.shard import shard_of; print([shard_of(n, 7) for n in {names!r}])"
    other = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == str(here)


@pytest.mark.parametrize("text", ["0/4", "5/4", "1", "a/b", "1/0", "-1/2", "1/2/3", ""])
def test_a_shard_that_is_not_i_of_n_is_refused(text: str) -> None:
    with pytest.raises(TaskInputError, match=r"is not I/N with 1 <= I <= N"):
        Shard.parse(text)


def test_a_shard_reads_and_prints_as_i_of_n() -> None:
    assert str(Shard.parse(" 2/4 ")) == "2/4"

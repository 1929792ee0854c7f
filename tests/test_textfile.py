"""``agentls.domain.textfile``: bytes to editable text and back, exactly."""

from __future__ import annotations

from pathlib import Path, PurePath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentls.domain import textfile
from agentls.domain.textfile import TextFileError, decode

LATIN1 = "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1")

_line = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"))
_ending = st.sampled_from(["\n", "\r\n", "\r"])


@given(
    lines=st.lists(st.tuples(_line, _ending), max_size=8),
    last=_line,
    bom=st.booleans(),
    name=st.sampled_from(["x.py", "x.txt"]),
)
def test_any_utf8_file_decodes_and_encodes_back_to_its_exact_bytes(
    lines: list[tuple[str, str]], last: str, bom: bool, name: str
) -> None:
    body = "".join(line + ending for line, ending in lines) + last
    data = (b"\xef\xbb\xbf" if bom else b"") + body.encode()
    try:
        file = decode(data, name)
    except TextFileError:  # a generated coding line naming another encoding
        return
    assert "\r" not in file.text and not file.text.startswith("\ufeff")
    assert file.encode(file.text) == data


@pytest.mark.parametrize(
    ("data", "newline", "bom"),
    [
        (b"a\r\nb\r\n", "\r\n", False),
        (b"a\nb", "\n", False),
        (b"a\rb\r", "\r", False),
        (b"\xef\xbb\xbfa\r\nb\r\n", "\r\n", True),
        (b"", "\n", False),
    ],
)
def test_an_edit_keeps_the_files_line_endings_and_bom(data: bytes, newline: str, bom: bool) -> None:
    file = decode(data, "f.txt")
    assert (file.newline, file.bom) == (newline, bom)
    edited = file.encode(file.text + "new line\nand one more\n")
    assert edited == data + f"new line{newline}and one more{newline}".encode()


def test_new_text_with_its_own_crlf_is_written_in_the_files_style() -> None:
    assert decode(b"a\nb\n", "f.txt").encode("a\r\nB\r\n") == b"a\nB\n"


def test_mixed_endings_keep_each_unchanged_lines_own_and_new_lines_get_the_most_common() -> None:
    data = b"one\r\ntwo\nthree\r\nfour\r\n"
    file = decode(data, "f.txt")
    assert file.text == "one\ntwo\nthree\nfour\n" and file.newline == "\r\n"
    assert file.encode(file.text) == data
    edited = file.encode("one\ntwo\nTHREE\nthree\nfour\n")
    assert edited == b"one\r\ntwo\nTHREE\r\nthree\r\nfour\r\n"


def test_a_python_coding_line_is_honoured_both_ways() -> None:
    file = decode(LATIN1, "legacy.py")
    assert file.encoding == "iso-8859-1" and "café" in file.text
    assert file.encode(file.text.replace("café", "déjà vu")) == LATIN1.replace(
        b"caf\xe9", b"d\xe9j\xe0 vu"
    )
    shebang = b"#!/usr/bin/env python\n# vim: set fileencoding=latin-1 :\nx = '\xe9'\n"
    assert decode(shebang, "s.py").text.endswith("x = 'é'\n")
    # Without its coding line the file is UTF-8, as Python would read it.
    assert file.encode("name = 'café'\n") == "name = 'café'\n".encode()


def test_a_character_the_files_encoding_lacks_is_refused() -> None:
    file = decode(LATIN1, "legacy.py")
    with pytest.raises(TextFileError, match=r"legacy\.py: the new text has '€'.*iso-8859-1"):
        file.encode(file.text + "price = '€'\n")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (
            b"ok\n\xe9t\xe9\n",
            "notes.txt",
            r"notes\.txt is not utf-8 text \(byte 0xe9 at offset 3\)",
        ),
        (LATIN1, "legacy.txt", r"legacy\.txt is not utf-8 text"),  # coding lines are Python's
        (b"x = 1\n# coding: latin-1\n\xe9\n", "late.py", r"late\.py is not utf-8 text"),
        (b"# coding: klingon\n", "k.py", "declares the encoding 'klingon'"),
        (b"# coding: zlib\n", "z.py", "declares the encoding 'zlib'"),
        (b"# coding: utf-16\n", "u.py", "declares utf-16, which a Python file cannot be in"),
        (b"\xef\xbb\xbf# coding: latin-1\n", "b.py", "byte order mark but its coding line"),
    ],
)
def test_undecodable_files_are_refused_with_a_clear_reason(
    data: bytes, name: str, message: str
) -> None:
    with pytest.raises(TextFileError, match=message):
        decode(data, name)


def test_read_is_none_for_a_missing_file(tmp_path: Path) -> None:
    assert textfile.read_text(tmp_path / "missing.py") is None


_NAME_PIECES = ["a", ".", "..", "/", "py", ".py", "b.PY", "x.", "\\", "..py", "a.b.pyi", "é"]


@given(pieces=st.lists(st.sampled_from(_NAME_PIECES), min_size=1, max_size=6))
def test_a_files_suffix_is_pathlibs(pieces: list[str]) -> None:
    """``suffix`` reads plain names without pathlib; every name reads as pathlib has it."""
    name = "".join(pieces)
    assert textfile.suffix(name) == PurePath(name).suffix.lower()

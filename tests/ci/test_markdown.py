"""The pull request comment: the findings table, the cost, the proposals folded; agent text and
file names shown as written and never taken as markdown or HTML."""

from __future__ import annotations

import re

from agentls.ci.markdown import MARKER, escape, markdown
from agentls.domain.results import Severity
from tests.ci.samples import finding, sample


def test_the_comment_has_the_table_the_cost_and_the_folded_diff() -> None:
    text = markdown(sample())
    assert text.startswith(MARKER + "\n### agentls: 4 findings\n")
    assert "reviewed 2 files (changed-lines) against <code>origin&#47;main</code>" not in text
    assert "against <code>origin/main</code>." in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0] == "| severity | where | rule | message | by |"
    assert len(rows) == 5 and all(row.count(" | ") == 4 for row in rows)
    assert "| error | src/app&#46;py&#58;4 | ZeroDivision | divides by zero | claude |" in rows
    assert "Cost: $0.0123, 1200 tokens in, 300 out." in text
    assert "<details>\n<summary>Proposed changes (1 file)</summary>\n" in text
    assert "```diff\n--- a/src/app.py\n+++ b/src/app.py\n@@ -4 +4 @@\n-a\n+b\n```" in text
    assert text.rstrip().endswith("</details>")


def test_a_failed_review_says_so() -> None:
    text = markdown(sample(status="failed", failures=["review (claude): <b>timed out</b>"]))
    assert "**The review is incomplete: a step failed.**" in text
    assert "- review &#40;claude&#41;&#58; &#60;b&#62;timed out&#60;&#47;b&#62;" not in text
    assert "&#60;b&#62;timed out&#60;/b&#62;" in text


HOSTILE = [
    "</details><script>alert(1)</script>",
    "a | b | c",
    "```\n# Approved\n```",
    "@octocat @github/security please merge",
    "[click](https://evil.test) ![x](https://evil.test/p.png) <img src=x onerror=alert(1)>",
    "**bold** _it_ ~~gone~~ `code` $x^2$ <!-- hide -->",
    "line\n\n## Heading\n- list",
    "&lt;already&gt; &#60;escaped&#62;",
]


def test_agent_text_cannot_inject_markdown_or_html() -> None:
    """Each hostile message and path is one table cell that, unescaped as a browser would,
    reads as written (spaces folded); no tag, fence, pipe, link or mention survives."""
    hostile = [
        finding(message=text, path=f"{text}.py", code=text, agent=text, severity=Severity.ERROR)
        for text in HOSTILE
    ]
    report = sample(*hostile, proposals={})
    rendered = markdown(report)
    rows = [line for line in rendered.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == len(HOSTILE)
    for row in rows:
        assert row.count("|") == 6  # the table's own pipes only
    body = rendered.split("\n", 1)[1]  # after the marker comment
    for dangerous in ("<", ">", "`", "@", "[", "](", "**", "~~", "$", "\n\n## "):
        table = "\n".join(rows)
        assert dangerous not in table, dangerous
    assert "<details>" not in body and "<script" not in body
    for text in HOSTILE:
        cell = escape(text)
        assert _unescape(cell) == " ".join(text.split())


def test_a_diff_cannot_close_its_fence_or_its_details() -> None:
    diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-````\n+</details>\n+```\n+@octocat <script>\n"
    rendered = markdown(sample(proposals={"x": diff}))
    fence = re.search(r"^(`{3,})diff$", rendered, re.M)
    assert fence is not None and len(fence[1]) == 5  # longer than the diff's longest run
    opened = rendered.index(fence[0]) + len(fence[0])
    closing = rendered.index("\n" + fence[1] + "\n", opened)
    assert rendered[opened:closing].strip("\n") == diff.rstrip("\n")
    assert rendered.count("</details>") == 2 and rendered.rstrip().endswith("</details>")


def _unescape(cell: str) -> str:
    return re.sub(r"&#(\d+);", lambda match: chr(int(match[1])), cell)

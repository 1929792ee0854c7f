from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from agentls.orchestration.config_loader import load_config
from agentls.orchestration.results import ErrorKind, TaskKind, TaskResult
from agentls.orchestration.tasks import TaskSpec, run_task
from tests.conftest import write_trusted

# A stand-in for llm/ollama-style tools: echoes what it was given as text or JSON.
TOOL = """\
import json, sys
args = sys.argv[1:]
mode = args[0]
prompt = sys.stdin.read() if "--stdin" in args else args[args.index("--prompt") + 1]
if mode == "text":
    print("```python\\nvalue = 42\\n```")
elif mode == "json":
    print(json.dumps({"message": {"content": '{"findings": [{"line": 1, "message": "m"}]}'},
                      "id": "s-1", "args": args, "prompt_len": len(prompt)}))
elif mode == "jsonl":
    for piece in ["The code ", "adds ", "numbers."]:
        print(json.dumps({"response": piece}))
else:
    print("boom: model not found", file=sys.stderr)
    sys.exit(3)
"""


def configure(workspace: Path, command: list[str], options: dict[str, object]) -> None:
    (workspace / "tool.py").write_text(TOOL)
    config = {
        "agents": {
            "tool": {
                "adapter": "command",
                "command": [sys.executable, str(workspace / "tool.py"), *command],
                "model": "m1",
                "options": options,
            }
        }
    }
    settings = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump({**settings, **config}))


def run(workspace: Path, task: TaskKind) -> TaskResult:
    spec = TaskSpec(agent="tool", task=task, workspace=workspace, path="calc.py")
    return asyncio.run(run_task(load_config(workspace), spec))


def test_text_output_with_the_prompt_on_stdin(workspace: Path) -> None:
    configure(workspace, ["text", "--stdin"], {})
    result = run(workspace, TaskKind.IMPLEMENT)
    assert result.ok, result.error
    [edit] = result.edits
    assert edit.new_text == "value = 42\n"


def test_json_output_prompt_placeholder_and_model_args(workspace: Path) -> None:
    configure(
        workspace,
        ["json", "--prompt", "{prompt}", "--file", "{file}"],
        {
            "output": "json",
            "text_field": "message.content",
            "session_field": "id",
            "model_args": ["-m", "{model}"],
            "read_only_args": ["--ask"],
        },
    )
    result = run(workspace, TaskKind.REVIEW)
    assert result.ok, result.error
    assert [f.line for f in result.findings] == [1]
    assert result.session_id == "s-1"


def test_jsonl_output_is_joined(workspace: Path) -> None:
    configure(workspace, ["jsonl", "--stdin"], {"output": "jsonl"})
    result = run(workspace, TaskKind.EXPLAIN)
    assert result.ok and result.text == "The code adds numbers."


def test_failure_exit_is_reported_with_stderr(workspace: Path) -> None:
    configure(workspace, ["fail", "--stdin"], {})
    result = run(workspace, TaskKind.EXPLAIN)
    assert result.error is not None and result.error.kind is ErrorKind.CRASH
    assert "exit code 3" in result.error.message and "model not found" in result.error.message


def test_missing_field_in_json_is_bad_output(workspace: Path) -> None:
    configure(workspace, ["jsonl", "--stdin"], {"output": "json", "text_field": "answer"})
    result = run(workspace, TaskKind.EXPLAIN)
    assert result.error is not None and result.error.kind is ErrorKind.BAD_OUTPUT
    assert "options.text_field" in result.error.message

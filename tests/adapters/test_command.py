from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from agentls.domain.results import ErrorKind, TaskKind, TaskResult
from agentls.orchestration.config_loader import load_config
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


# Records its argv and what its {prompt_file} held, as JSON on stdout.
RECORDER = """\
import json, os, sys
args = sys.argv[1:]
held = None
if "--prompt-file" in args:
    path = args[args.index("--prompt-file") + 1]
    held = {"text": open(path).read(), "mode": oct(os.stat(path).st_mode & 0o777), "path": path}
stdin = None if sys.stdin.isatty() else sys.stdin.read()
print(json.dumps({"response": json.dumps({"args": args, "file": held, "stdin": stdin})}))
"""


def recorded(workspace: Path, command: list[str], target: str, instruction: str) -> dict:
    (workspace / "recorder.py").write_text(RECORDER)
    agent = {
        "adapter": "command",
        "command": [sys.executable, str(workspace / "recorder.py"), *command],
        "model": "m1",
        "options": {"output": "json", "model_args": ["--model", "{model}"]},
    }
    settings = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    write_trusted(
        workspace / ".agentls.yaml", yaml.safe_dump({**settings, "agents": {"rec": agent}})
    )
    (workspace / target).write_text("x = 1\n")
    spec = TaskSpec(agent="rec", task=TaskKind.EXPLAIN, workspace=workspace, path=target,
                    instruction=instruction)  # fmt: skip
    result = asyncio.run(run_task(load_config(workspace), spec))
    assert result.ok, result.error
    return json.loads(result.text)


def test_placeholders_in_the_command_are_filled_once_never_inside_the_prompt(
    workspace: Path,
) -> None:
    sneaky = "explain {file} and {model} and {workspace} and {prompt}"
    seen = recorded(workspace, ["--message", "{prompt}", "--on", "{file}"], "calc.py", sneaky)
    args = seen["args"]
    prompt = args[args.index("--message") + 1]
    assert sneaky in prompt  # the braces in the user's text stay as they were typed
    assert args[args.index("--on") + 1] == "calc.py"
    assert args[-2:] == ["--model", "m1"]
    assert seen["stdin"] in (None, "")  # the prompt went in argv, not also on stdin


def test_prompt_file_holds_the_prompt_privately_and_is_removed(workspace: Path) -> None:
    seen = recorded(workspace, ["--prompt-file", "{prompt_file}"], "calc.py", "say hi")
    held = seen["file"]
    assert "say hi" in held["text"] and held["mode"] == "0o600"
    assert not Path(held["path"]).exists()
    assert seen["stdin"] in (None, "")


def test_a_file_named_like_a_flag_is_not_read_as_one(workspace: Path) -> None:
    seen = recorded(workspace, ["{file}"], "--yes-always", "explain")
    assert "./--yes-always" in seen["args"] and "--yes-always" not in seen["args"]


def test_the_shipped_aider_entry_gets_the_prompt_and_the_file(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "aider.argv"
    aider = bin_dir / "aider"
    aider.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(log)!r}, 'w').write(json.dumps(sys.argv[1:]))\nprint('Fine as it is.')\n"
    )
    aider.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    settings = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    agents = {"agents": {"aider": {"enabled": True, "sandbox": "off"}}}  # it logs beside
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump({**settings, **agents}))
    spec = TaskSpec(agent="aider", task=TaskKind.EXPLAIN, workspace=workspace, path="calc.py",
                    instruction="what does it do?")  # fmt: skip
    result = asyncio.run(run_task(load_config(workspace), spec))
    assert result.ok, result.error
    args = json.loads(log.read_text())
    assert "what does it do?" in args[args.index("--message") + 1]
    assert "calc.py" in args and "{prompt}" not in args and "{file}" not in args
    assert args[-3:] == ["--chat-mode", "ask", "--dry-run"]


LEAKY_TOOL = """\
import json, os, stat, sys, tempfile
folder = os.environ["TMPDIR"]
with open(os.path.join(folder, "client-error.json"), "w") as handle:
    handle.write(sys.stdin.read())  # as Gemini CLI leaves the prompt there on API errors
print(json.dumps({"folder": folder, "mode": stat.S_IMODE(os.stat(folder).st_mode),
                  "same": [os.environ.get(n) == folder for n in ("TMP", "TEMP")],
                  "gettempdir": tempfile.gettempdir()}))
"""


def test_each_agent_process_gets_a_private_temp_folder_removed_after_it(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))  # the one every user shares
    (workspace / "leaky.py").write_text(LEAKY_TOOL)
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["agents"] = {
        "leaky": {
            "adapter": "command",
            "command": [sys.executable, str(workspace / "leaky.py")],
            "sandbox": "off",  # contained, /tmp and $TMPDIR are an empty private mount anyway
        }
    }
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    spec = TaskSpec(agent="leaky", task=TaskKind.EXPLAIN, workspace=workspace, path="calc.py")
    result = asyncio.run(run_task(load_config(workspace), spec))
    assert result.ok, result.error
    seen = json.loads(result.text)
    folder = Path(seen["folder"])
    assert folder.parent == system_temp and folder.name.startswith("agentls-tmp-")
    assert seen["mode"] == 0o700 and all(seen["same"]) and seen["gettempdir"] == str(folder)
    assert not folder.exists()  # removed with what the agent left in it
    assert os.listdir(system_temp) == []

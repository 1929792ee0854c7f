from __future__ import annotations

from pathlib import Path

import pytest

from agentls.domain.config import BestOfStage
from agentls.domain.errors import ConfigError
from agentls.orchestration.config_loader import builtin_config_dir, load_config, render_schema
from tests.conftest import write_trusted


def user_config(text: str) -> Path:
    import os

    path = Path(os.environ["XDG_CONFIG_HOME"]) / "agentls" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_builtin_config_has_the_four_cli_agents_and_the_offline_reviewer() -> None:
    config = load_config(None)
    assert {"claude", "codex", "gemini", "copilot", "ruff"} <= set(config.agents)
    assert config.agents["codex"].adapter == "codex"
    assert "ANTHROPIC_API_KEY" in config.agents["claude"].env
    assert config.settings.default_workflow in config.workflows


def test_layers_merge_key_by_key_workspace_last(tmp_path: Path) -> None:
    user_config("agents:\n  claude:\n    model: opus\n    timeout_s: 100\n")
    write_trusted(tmp_path / ".agentls.yaml", "agents:\n  claude:\n    timeout_s: 30\n")
    config = load_config(tmp_path)
    claude = config.agents["claude"]
    assert claude.model == "opus"  # from the user's file
    assert claude.timeout_s == 30  # the workspace wins
    assert claude.adapter == "claude"  # built-in, untouched
    assert "ANTHROPIC_API_KEY" in claude.env


def test_a_new_agent_can_be_declared_in_the_workspace(tmp_path: Path) -> None:
    write_trusted(
        tmp_path / ".agentls.yaml",
        "agents:\n  local:\n    adapter: command\n    command: [llm]\n"
        "    options: {output: json, text_field: answer}\n",
    )
    config = load_config(tmp_path)
    assert config.agents["local"].options == {"output": "json", "text_field": "answer"}


def test_bad_value_names_file_line_and_key_path(tmp_path: Path) -> None:
    workspace_file = tmp_path / ".agentls.yaml"
    workspace_file.write_text("agents:\n  claude:\n    model: opus\n    timeout_s: soon\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    message = str(caught.value)
    assert f"{workspace_file}:4" in message
    assert "agents.claude.timeout_s" in message
    assert "number" in message and "'soon'" in message


def test_unknown_key_is_reported_where_it_was_written(tmp_path: Path) -> None:
    path = user_config("settings:\n  max_output_bytes: 100000\n  colour: blue\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert f"{path}:3: settings.colour: unknown key" in str(caught.value)


def test_invalid_yaml_gives_the_line(tmp_path: Path) -> None:
    write_trusted(tmp_path / ".agentls.yaml", "agents:\n  claude:\n    model: [opus\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert ".agentls.yaml:" in str(caught.value)
    assert "invalid YAML" in str(caught.value)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    write_trusted(tmp_path / ".agentls.yaml", "- claude\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(tmp_path)


def test_unknown_adapter_lists_the_known_ones(tmp_path: Path) -> None:
    write_trusted(tmp_path / ".agentls.yaml", "agents:\n  x:\n    adapter: cursor\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    message = str(caught.value)
    assert ".agentls.yaml:3: agents.x.adapter: unknown adapter 'cursor'" in message
    assert "claude" in message and "ruff" in message


def test_adapter_options_are_checked_by_the_adapter(tmp_path: Path) -> None:
    write_trusted(
        tmp_path / ".agentls.yaml",
        "agents:\n  x:\n    adapter: command\n    command: [llm]\n"
        "    options:\n      output: xml\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert ".agentls.yaml:6: agents.x.options.output:" in str(caught.value)


def test_workflow_step_must_name_a_configured_agent(tmp_path: Path) -> None:
    write_trusted(
        tmp_path / ".agentls.yaml",
        "workflows:\n  mine:\n    steps:\n      - agent: claude\n        task: review\n"
        "      - parallel:\n          - {agent: nobody, task: review}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert "workflows.mine.steps[1].parallel[0].agent: no agent named 'nobody'" in str(caught.value)


def test_step_errors_do_not_mention_the_other_step_shape(tmp_path: Path) -> None:
    write_trusted(
        tmp_path / ".agentls.yaml",
        "workflows:\n  mine:\n    steps:\n      - agent: claude\n        taks: review\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    message = str(caught.value)
    assert "workflows.mine.steps[0].taks: unknown key" in message
    assert "workflows.mine.steps[0].task: Field required" in message
    assert "parallel" not in message


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / ".agentls.yaml").write_bytes(b"agents: \xff\xfe\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)


def test_schema_file_is_up_to_date() -> None:
    committed = (builtin_config_dir() / "schema.json").read_text()
    assert committed == render_schema(), "config/schema.json is stale: run `make schema`"


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            "[{agent: codex, task: implement, when: 'review.findings > 0'},"
            " {agent: gemini, task: review}]",
            "workflows.w.steps[0].when: 'review' is not a step that runs before this one",
        ),
        (
            "[{agent: gemini, task: review, when: 'review.findings > 0'}]",
            "'review' is not a step that runs before this one",
        ),
        (
            "[{agent: gemini, task: review}, {agent: claude, task: review}]",
            "workflows.w.steps[1]: step id 'review' is used twice",
        ),
        (
            "[{agent: gemini, task: review, when: 'os.system(1)'}]",
            "Call is not allowed",
        ),
    ],
)
def test_bad_workflows_are_rejected_at_load_time(tmp_path: Path, steps: str, expected: str) -> None:
    write_trusted(tmp_path / ".agentls.yaml", f"workflows:\n  w:\n    steps: {steps}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert expected in str(caught.value)
    assert ".agentls.yaml:" in str(caught.value)


def test_default_workflow_must_exist(tmp_path: Path) -> None:
    write_trusted(tmp_path / ".agentls.yaml", "settings:\n  default_workflow: nope\n")
    with pytest.raises(ConfigError, match="no workflow named 'nope'"):
        load_config(tmp_path)


BEST_OF = "{candidates: [codex, claude], judge: gemini, criteria: 'the simplest correct one'}"


def test_a_best_of_step_loads_with_its_candidates_and_judge_as_its_steps(tmp_path: Path) -> None:
    write_trusted(
        tmp_path / ".agentls.yaml",
        "workflows:\n  w:\n    steps:\n"
        "      - best_of: {candidates: [codex, claude, codex], judge: gemini, id: pick,\n"
        "                  criteria: short, check: [pytest, -q], task: refine, mode: agentic}\n"
        "      - {agent: gemini, task: review, when: 'pick.edits > 0'}\n",
    )
    workflow = load_config(tmp_path).workflows["w"]
    stage = workflow.steps[0]
    assert isinstance(stage, BestOfStage) and stage.best_of.check == ["pytest", "-q"]
    assert [(s.step_id, s.agent, s.task.value, s.mode) for s in stage.members] == [
        ("pick#1", "codex", "refine", "agentic"),
        ("pick#2", "claude", "refine", "agentic"),
        ("pick#3", "codex", "refine", "agentic"),
        ("pick#judge", "gemini", "explain", "text"),
    ]
    assert workflow.agents == ["claude", "codex", "gemini"]


@pytest.mark.parametrize(
    ("best_of", "expected"),
    [
        (
            "{candidates: [codex], judge: gemini, criteria: x}",
            "workflows.w.steps[0].best_of.candidates: best_of needs at least 2 "
            "candidates to compare (got 1)",
        ),
        (
            "{candidates: [codex, nobody], judge: gemini, criteria: x}",
            "workflows.w.steps[0].best_of.candidates[1]: no agent named 'nobody'",
        ),
        (
            "{candidates: [codex, claude], judge: nobody, criteria: x}",
            "workflows.w.steps[0].best_of.judge: no agent named 'nobody'",
        ),
        (
            "{candidates: [codex, claude], judge: copilot-acp, criteria: x}",
            "workflows.w.steps[0].best_of.judge: the judge 'copilot-acp' is disabled; set "
            "agents.copilot-acp.enabled: true or name another judge",
        ),
        (
            "{candidates: [codex, claude], judge: gemini}",
            "workflows.w.steps[0].best_of.criteria: Field required",
        ),
        (
            "{candidates: [codex, claude], judge: gemini, criteria: x, check: 'pytest -q'}",
            "workflows.w.steps[0].best_of.check: Input should be a valid list",
        ),
        (
            "{candidates: [codex, claude], judge: gemini, criteria: x, task: review}",
            "workflows.w.steps[0].best_of.task: Input should be 'implement' or 'refine'",
        ),
    ],
)
def test_bad_best_of_steps_are_rejected_in_a_line(
    tmp_path: Path, best_of: str, expected: str
) -> None:
    write_trusted(
        tmp_path / ".agentls.yaml", f"workflows:\n  w:\n    steps:\n      - best_of: {best_of}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert expected in str(caught.value)
    assert ".agentls.yaml:" in str(caught.value)
    assert "parallel" not in str(caught.value)


def test_two_best_of_steps_need_their_own_ids(tmp_path: Path) -> None:
    write_trusted(
        tmp_path / ".agentls.yaml",
        f"workflows:\n  w:\n    steps:\n      - best_of: {BEST_OF}\n      - best_of: {BEST_OF}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert "workflows.w.steps[1].best_of: step id 'best_of' is used twice" in str(caught.value)

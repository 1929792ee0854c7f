"""Budgets in the configuration: a repository's .agentls.yaml, trusted or not, may lower the
user's budgets and never raise or remove one, nor set what an agent's tokens cost."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agentls.domain.budget import Budget, tightest
from agentls.domain.errors import ConfigError
from agentls.domain.locations import user_config_path
from agentls.orchestration import trust
from agentls.orchestration.config_loader import load_config

USER = {
    "settings": {"budget": {"usd": 2.0, "tokens": 400_000, "minutes": 10}},
    "workflows": {"default": {"budget": {"usd": 1.0}}},
    "agents": {
        "claude": {"budget": {"usd": 0.5}},
        "codex": {"price": {"input_usd_per_mtok": 1.25, "output_usd_per_mtok": 10}},
    },
}

REPOSITORY = {
    "settings": {"budget": {"usd": 100, "tokens": None, "minutes": 5}},
    "workflows": {
        "default": {"budget": None},
        "mine": {"steps": [{"agent": "claude", "task": "review"}], "budget": {"usd": 9}},
    },
    "agents": {
        "claude": {"budget": {"usd": 5, "tokens": 1000}},
        "codex": {"price": {"input_usd_per_mtok": 0, "output_usd_per_mtok": 0}},
    },
}


def _user(config: dict[str, object]) -> None:
    path = user_config_path()
    mine = yaml.safe_load(path.read_text())
    mine.update(config)
    path.write_text(yaml.safe_dump(mine))


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
def test_a_workspace_file_lowers_budgets_but_never_raises_or_removes_one(
    tmp_path: Path, trusted: bool
) -> None:
    _user(USER)
    file = tmp_path / ".agentls.yaml"
    file.write_text(yaml.safe_dump(REPOSITORY))
    if trusted:
        trust.trust(file)
    config = load_config(tmp_path)
    assert config.settings.budget == Budget(usd=2.0, tokens=400_000, minutes=5)
    assert config.workflows["default"].budget == Budget(usd=1.0)
    assert config.workflows["mine"].budget == Budget(usd=9)  # a cap nobody else set
    assert config.agents["claude"].budget == Budget(usd=0.5, tokens=1000)
    price = config.agents["codex"].price
    assert price is not None and price.output_usd_per_mtok == 10
    screened = config.screened
    assert screened is not None
    assert set(screened.raised) == {
        "settings.budget.usd",
        "settings.budget.tokens",
        "workflows.default.budget",
        "agents.claude.budget.usd",
    }
    assert screened.refused == ("agents.codex.price",)
    assert "may lower a budget, never raise or remove one" in screened.message()


def test_without_a_budget_of_the_users_a_workspace_file_sets_its_own(tmp_path: Path) -> None:
    (tmp_path / ".agentls.yaml").write_text(
        yaml.safe_dump({"settings": {"budget": {"tokens": 5000}}})
    )
    config = load_config(tmp_path)
    assert config.settings.budget == Budget(tokens=5000) and config.screened is None


@pytest.mark.parametrize(
    ("budget", "said"),
    [
        ({"usd": -1}, "settings.budget.usd: Input should be greater than 0 (got -1)"),
        ({"minutes": float("nan")}, "settings.budget.minutes: Input should be a finite number"),
        ({"dollars": 2}, "settings.budget.dollars: unknown key"),
    ],
)
def test_a_bad_budget_is_named_with_its_file(
    tmp_path: Path, budget: dict[str, object], said: str
) -> None:
    _user({"settings": {"budget": budget}})
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert said in str(caught.value) and str(user_config_path()) in str(caught.value)


def test_the_tightest_cap_of_each_kind_holds() -> None:
    assert tightest(None, None) is None
    assert tightest(
        Budget(usd=2, minutes=10), None, Budget(usd=3, tokens=1000), Budget(minutes=4)
    ) == Budget(usd=2, tokens=1000, minutes=4)

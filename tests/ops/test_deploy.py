"""deploy/ as far as this machine can check it: parses, names real metrics, agrees on ports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from agentls.cli.serve_cmd import serve
from agentls.metrics import exported_names
from agentls.orchestration.config_loader import load_config

DEPLOY = Path(__file__).parents[2] / "deploy"
LSP_PORT, METRICS_PORT = 2087, 9464


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "agentls-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_every_dashboard_query_names_a_metric_agentls_exports() -> None:
    exported = exported_names()
    queried = {name for expr in dashboard_exprs() for name in re.findall(r"agentls_\w+", expr)}
    assert queried, "the dashboard queries nothing"
    assert queried <= exported, f"not exported: {sorted(queried - exported)}"
    families = {name.rsplit("_bucket", 1)[0].removesuffix("_total") for name in queried}
    assert len(families) >= 8  # tasks, durations, tokens, cost, cache, runs, lsp, rate limits


def test_compose_publishes_on_loopback_and_agrees_on_ports() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"agentls", "prometheus", "grafana"}
    for service in services.values():
        for mapping in service.get("ports", []):
            assert mapping.startswith("127.0.0.1:"), mapping
    published = {int(p.rsplit(":", 1)[1]) for p in services["agentls"]["ports"]}
    assert published == {LSP_PORT, METRICS_PORT}
    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    [job] = prometheus["scrape_configs"]
    assert job["static_configs"][0]["targets"] == [f"agentls:{METRICS_PORT}"]


def test_dockerfile_runs_a_valid_serve_command() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    command = json.loads(re.search(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert command[:2] == ["agentls", "serve"]
    context = serve.make_context("serve", command[2:])
    assert context.params["tcp"] == f"0.0.0.0:{LSP_PORT}"
    assert context.params["metrics_port"] == METRICS_PORT
    exposed = {int(p) for p in re.findall(r"^EXPOSE (.*)$", text, re.MULTILINE)[0].split()}
    assert exposed == {LSP_PORT, METRICS_PORT}


def test_kubernetes_manifests(tmp_path: Path) -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "k8s" / "agentls.yaml").read_text()))
    kinds = {d["kind"]: d for d in documents}
    assert set(kinds) == {"ConfigMap", "Deployment", "Service"}
    [container] = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    context = serve.make_context("serve", container["args"][2:])
    assert context.params["metrics_port"] == METRICS_PORT
    assert {p["containerPort"] for p in container["ports"]} == {LSP_PORT, METRICS_PORT}
    assert {p["port"] for p in kinds["Service"]["spec"]["ports"]} == {LSP_PORT, METRICS_PORT}
    config = tmp_path / "config.yaml"
    config.write_text(kinds["ConfigMap"]["data"]["config.yaml"])
    loaded = load_config(None, extra_files=[config])  # the shipped settings are valid
    assert loaded.settings.rate_limits.per_client is not None

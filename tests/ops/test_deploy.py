"""deploy/ as far as this machine can check it: parses, names real metrics, agrees on ports,
and publishes nothing unauthenticated (loopback only, a token file, Grafana with a login)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from agentls.cli.serve_cmd import parser
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


def published(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host IP, host port, container port) of each published port, short or long syntax."""
    mappings = []
    for mapping in service.get("ports", []):
        if isinstance(mapping, dict):
            host_ip = str(mapping.get("host_ip", ""))
            host, target = int(mapping.get("published", 0)), int(mapping["target"])
        else:
            parts = str(mapping).split(":")
            assert len(parts) == 3, f"{mapping}: no host IP, so every interface"
            host_ip, host, target = parts[0], int(parts[1]), int(parts[2].split("/")[0])
        mappings.append((host_ip, host, target))
    return mappings


def dockerfile_command() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text()
    return json.loads(re.search(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1))  # type: ignore[no-any-return,union-attr]


def test_compose_publishes_only_what_authenticates_and_only_on_loopback() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"agentls", "prometheus", "grafana"}
    for name, service in services.items():
        for host_ip, _, _ in published(service):
            assert host_ip == "127.0.0.1", (name, host_ip)  # never 0.0.0.0, never left out
        assert service.get("network_mode") != "host", name
    assert [target for _, _, target in published(services["agentls"])] == [LSP_PORT]
    assert published(services["prometheus"]) == []  # metrics stay inside the network
    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    [job] = prometheus["scrape_configs"]
    assert job["static_configs"][0]["targets"] == [f"agentls:{METRICS_PORT}"]


def test_compose_runs_serve_with_a_token_file_from_a_secret() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    agentls = compose["services"]["agentls"]
    command = agentls.get("command") or dockerfile_command()
    context = vars(parser().parse_args(command[2:]))
    token_file = str(context["token_file"])
    [secret] = [s for s in agentls["secrets"] if isinstance(s, dict)]
    assert token_file == f"/run/secrets/{secret['target']}"
    assert secret["uid"] == "1000" and secret["mode"] in (0o400, 0o600, "0o400", "0o600")
    source = compose["secrets"][secret["source"]]
    assert set(source) == {"environment"} or set(source) == {"file"}  # no value in the file


def test_grafana_needs_a_login() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    environment = dict(item.split("=", 1) for item in grafana["environment"])
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in environment
    assert "GF_SECURITY_ADMIN_PASSWORD" not in environment  # no password in the file
    assert environment["GF_SECURITY_ADMIN_PASSWORD__FILE"].startswith("/run/secrets/")


def test_dockerfile_runs_a_valid_serve_command() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    command = dockerfile_command()
    assert command[:2] == ["agentls", "serve"]
    context = vars(parser().parse_args(command[2:]))
    assert context["tcp"] == f"0.0.0.0:{LSP_PORT}"  # the container's own interfaces
    assert context["token_file"] is not None
    assert context["metrics_port"] == METRICS_PORT
    exposed = {int(p) for p in re.findall(r"^EXPOSE (.*)$", text, re.MULTILINE)[0].split()}
    assert exposed == {LSP_PORT, METRICS_PORT}


def test_kubernetes_manifests(tmp_path: Path) -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "k8s" / "agentls.yaml").read_text()))
    kinds = {d["kind"]: d for d in documents}
    assert set(kinds) == {"ConfigMap", "Deployment", "Service"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    context = vars(parser().parse_args(container["args"][2:]))
    assert context["metrics_port"] == METRICS_PORT
    assert {p["containerPort"] for p in container["ports"]} == {LSP_PORT, METRICS_PORT}
    assert {p["port"] for p in kinds["Service"]["spec"]["ports"]} == {LSP_PORT, METRICS_PORT}
    config = tmp_path / "config.yaml"
    config.write_text(kinds["ConfigMap"]["data"]["config.yaml"])
    loaded = load_config(None, extra_files=[config])  # the shipped settings are valid
    assert loaded.settings.rate_limits.per_client is not None


def test_kubernetes_serves_in_cluster_only_with_the_token_secret() -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "k8s" / "agentls.yaml").read_text()))
    for document in documents:
        spec = document.get("spec", {})
        assert spec.get("type", "ClusterIP") == "ClusterIP", document["kind"]
        assert "externalIPs" not in spec and "nodePort" not in json.dumps(spec)
        assert "hostPort" not in json.dumps(spec) and "hostNetwork" not in json.dumps(spec)
    assert {d["kind"] for d in documents}.isdisjoint({"Ingress", "Secret"})  # no token in git
    pod = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    token_file = Path(vars(parser().parse_args(container["args"][2:]))["token_file"])
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert volumes[mounts[str(token_file.parent)]]["emptyDir"]["medium"] == "Memory"
    [copy] = pod["initContainers"]  # the Secret's file, copied 0600 to where serve reads it
    assert copy["command"][:3] == ["install", "-m", "600"] and copy["command"][-1] == str(
        token_file
    )
    secret_mount = Path(copy["command"][-2]).parent
    [source] = [m["name"] for m in copy["volumeMounts"] if m["mountPath"] == str(secret_mount)]
    assert volumes[source]["secret"]["secretName"] == "agentls-token"

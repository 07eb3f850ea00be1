"""`canary check` against the real control plane, gateway controller and Prometheus: every
failure mode it diagnoses is set up for real, and reported with its hint and a non-zero exit.
Check changes nothing, so no operator runs here."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from harness.app import App, canary_manifest, service_manifest
from harness.cli import Cli, Result
from harness.waiting import eventually

from canary.kube.errors import NotFound
from canary.kube.resources import HTTPROUTE, NAMESPACE, SERVICE, JsonObj
from canary.sandbox.prometheus import PrometheusServer

pytestmark = pytest.mark.integration

BLOCKED = 1


def finding(result: Result, severity: str, subject: str) -> JsonObj:
    for canary in result.json()["canaries"]:
        for item in canary["findings"]:
            if item["severity"] == severity and item["subject"].startswith(subject):
                return dict(item)
    raise AssertionError(f"no {severity} finding about {subject!r} in {result.out}")


async def check(cli: Cli, prometheus: PrometheusServer, *args: str) -> Result:
    return await cli.run("check", *args, "--prometheus", prometheus.url, "-o", "json")


async def check_file(
    cli: Cli, prometheus: PrometheusServer, tmp_path: Path, manifest: JsonObj
) -> tuple[str, Result]:
    """`canary check -f` on `manifest` written to a file; the file's path and the result."""
    path = tmp_path / "canary.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return str(path), await check(cli, prometheus, "-f", str(path))


async def test_a_ready_canary_passes_and_check_changes_nothing(
    app: App, cli: Cli, prometheus: PrometheusServer
) -> None:
    app.set_success(100)
    await app.create_canary()
    before = await app.canary()

    async def passing() -> Result | None:
        result = await check(cli, prometheus, "api")
        return result if result.code == 0 else None

    result = await eventually(passing, within=60, what="check to pass")
    assert finding(result, "ok", "route api-route")["message"].startswith("accepted")
    assert "passes now" in finding(result, "ok", "metric success-rate")["message"]
    text = await cli.run("check", "api", "--prometheus", prometheus.url)
    assert "nothing blocks the rollout" in text.out
    after = await app.canary()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_a_missing_route_blocks_with_a_hint(
    app: App, cli: Cli, prometheus: PrometheusServer
) -> None:
    await app.create_canary(routeRef={"name": "no-such-route"})
    result = await check(cli, prometheus, "api")
    assert result.code == BLOCKED, result.text
    item = finding(result, "blocker", "route no-such-route")
    assert "RouteNotFound" in item["message"]
    assert f"kubectl -n {app.namespace} get httproutes" in item["hint"]


async def test_a_route_its_gateway_does_not_allow_blocks_with_the_reason(
    app: App, cli: Cli, prometheus: PrometheusServer
) -> None:
    await app.admit_only_labelled_namespaces()
    await app.create_canary()

    async def not_allowed() -> Result | None:
        result = await check(cli, prometheus, "api")
        return result if "NotAllowedByListeners" in result.out else None

    result = await eventually(not_allowed, within=60, what="check to see NotAllowedByListeners")
    assert result.code == BLOCKED
    item = finding(result, "blocker", "route api-route")
    assert "allowedRoutes" in item["hint"] and app.namespace in item["hint"]


async def test_a_canary_backend_missing_from_the_route_blocks(
    app: App, cli: Cli, prometheus: PrometheusServer
) -> None:
    await app.kube.create(SERVICE, service_manifest("api-svc-v3"), app.namespace)
    await app.create_canary(canary={"name": "api-svc-v3", "port": 8080})
    result = await check(cli, prometheus, "api")
    assert result.code == BLOCKED, result.text
    item = finding(result, "blocker", "route api-route")
    assert "BackendsNotInRoute" in item["message"] and "api-svc-v3" in item["message"]
    assert "backendRef" in item["hint"]


async def test_a_missing_service_blocks(app: App, cli: Cli, prometheus: PrometheusServer) -> None:
    patch = [
        {
            "op": "add",
            "path": "/spec/rules/0/backendRefs/-",
            "value": {"name": "api-svc-v4", "port": 8080, "weight": 0},
        }
    ]
    await app.kube.patch(HTTPROUTE, "api-route", patch, namespace=app.namespace, patch_type="json")
    await app.create_canary(canary={"name": "api-svc-v4", "port": 8080})
    result = await check(cli, prometheus, "api")
    assert result.code == BLOCKED, result.text
    item = finding(result, "blocker", "service api-svc-v4")
    assert "does not exist" in item["message"]
    assert f"kubectl -n {app.namespace} get services" in item["hint"]


@pytest.fixture
async def other_namespace(app: App) -> AsyncIterator[str]:
    name = f"t-other-{uuid.uuid4().hex[:8]}"
    await app.kube.create(
        NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    yield name
    await app.kube.delete(NAMESPACE, name)


@pytest.mark.parametrize(
    ("path", "severity", "where"),
    [
        ("/spec/rules/0/backendRefs/2", "blocker", "refers to Service"),  # the managed rule
        ("/spec/rules/1/backendRefs/0", "warning", "spec.rules[1], a rule the canary does not"),
    ],
    ids=["managed-rule-blocks", "other-rule-warns"],
)
async def test_a_cross_namespace_backend_without_a_reference_grant(
    app: App,
    cli: Cli,
    prometheus: PrometheusServer,
    other_namespace: str,
    path: str,
    severity: str,
    where: str,
) -> None:
    """Blocks in the managed rule; in a rule the Canary does not manage, the managed rule is
    served (Contour answers 500 for that backend only): a warning."""
    await app.kube.create(SERVICE, service_manifest("legacy"), other_namespace)
    legacy = {"name": "legacy", "namespace": other_namespace, "port": 8080}
    patch = [{"op": "replace", "path": path, "value": legacy}]
    await app.kube.patch(HTTPROUTE, "api-route", patch, namespace=app.namespace, patch_type="json")
    await app.create_canary()
    result = await check(cli, prometheus, "api")
    if severity == "blocker":
        assert result.code == BLOCKED, result.text
    item = finding(result, severity, "route api-route")
    assert "RefNotPermitted" in item["message"] and where in item["message"]
    assert f"ReferenceGrant in namespace {other_namespace}" in item["message"]
    assert "ReferenceGrant" in item["hint"]


async def test_an_unknown_template_in_a_file_is_reported_before_anything_is_applied(
    app: App, cli: Cli, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    manifest = canary_manifest(app.namespace)
    manifest["spec"]["analysis"]["metrics"] = [
        {"name": "success-rate", "template": "envoy-succes-rate", "min": 99}
    ]
    manifest["spec"]["steps"]["intervall"] = "5s"
    path, result = await check_file(cli, prometheus, tmp_path, manifest)
    assert result.code == BLOCKED, result.text
    item = finding(result, "blocker", "spec.analysis.metrics[0].template")
    assert "unknown metric template 'envoy-succes-rate'" in item["message"]
    assert "envoy-success-rate" in item["hint"]
    assert finding(result, "warning", "spec.steps.intervall")["message"].startswith("unknown")
    text = await cli.run("check", "-f", path)
    assert "BLOCKER" in text.out and "hint: use one of envoy-success-rate" in text.out


async def test_a_query_that_can_never_be_rendered_in_a_file_blocks_before_it_is_applied(
    app: App, cli: Cli, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    app.set_success(100)
    manifest = canary_manifest(app.namespace)
    manifest["spec"]["analysis"]["metrics"].append(
        {"name": "unclosed", "query": 'vector(100) or x{c="{{ canary }"}', "min": 99}
    )
    path, result = await check_file(cli, prometheus, tmp_path, manifest)
    assert result.code == BLOCKED, result.text
    item = finding(result, "blocker", "spec.analysis.metrics[1] (unclosed)")
    assert item["message"].startswith("the query cannot be rendered: malformed placeholder")
    assert "InvalidSpec" in item["hint"]
    subjects = [f["subject"] for c in result.json()["canaries"] for f in c["findings"]]
    assert "metric success-rate" in subjects, "the other gates are still run"
    assert "metric unclosed" not in subjects, "a query that cannot be rendered is not run"
    text = await cli.run("check", "-f", path)
    assert text.code == BLOCKED
    assert "BLOCKER spec.analysis.metrics[1] (unclosed): the query cannot be rendered" in " ".join(
        text.out.split()
    )
    with pytest.raises(NotFound):
        await app.canary()


async def test_an_unreachable_prometheus_blocks(
    app: App, cli: Cli, prometheus: PrometheusServer, tmp_path: Path
) -> None:
    manifest = canary_manifest(app.namespace)
    manifest["spec"]["analysis"]["prometheus"] = {"address": "http://127.0.0.1:1", "timeout": "2s"}
    _, result = await check_file(cli, prometheus, tmp_path, manifest)
    assert result.code == BLOCKED, result.text
    item = finding(result, "blocker", "prometheus")
    assert "http://127.0.0.1:1 cannot be queried" in item["message"]
    assert "port-forward" in item["hint"]
    assert finding(result, "ok", "route api-route")


async def test_a_query_without_data_warns_before_traffic_and_blocks_with_traffic(
    app: App, cli: Cli, prometheus: PrometheusServer
) -> None:
    await app.create_canary()  # this test's gauge was never served: the query has no data
    quiet = await check(cli, prometheus, "api")
    assert quiet.code == 0, quiet.text
    item = finding(quiet, "warning", "metric success-rate")
    assert "no data, as expected while the canary receives no traffic" in item["message"]
    assert "minRequests" in item["hint"]
    patch = [
        {"op": "replace", "path": "/spec/rules/0/backendRefs/0/weight", "value": 90},
        {"op": "replace", "path": "/spec/rules/0/backendRefs/1/weight", "value": 10},
    ]
    await app.kube.patch(HTTPROUTE, "api-route", patch, namespace=app.namespace, patch_type="json")
    with_traffic = await check(cli, prometheus, "api")
    assert with_traffic.code == BLOCKED, with_traffic.text
    item = finding(with_traffic, "blocker", "metric success-rate")
    assert "no data although the canary receives traffic" in item["message"]
    assert "api-svc-v2" in item["hint"]


async def test_check_of_a_missing_canary_exits_4(cli: Cli) -> None:
    result = await cli.run("check", "nope")
    assert result.code == 4, result.text

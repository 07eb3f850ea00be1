"""The operator authenticated as the chart's ServiceAccount (a TokenRequest token, exactly the
chart's ClusterRoles, Roles and bindings) rolls a Canary out to 100 % with nothing it needs
forbidden, while writes outside its scope are refused by the real API server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from harness.install import SELF_SUBJECT_REVIEW, App, Installed, Replicas
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.errors import Forbidden
from canary.kube.resources import (
    CANARY,
    DEPLOYMENT,
    HTTPROUTE,
    LEASE,
    SECRET,
    SERVICE,
    JsonObj,
    Resource,
)
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster

pytestmark = pytest.mark.integration


FAST_LEASE = {
    "leaderElection.leaseDuration": 4,
    "leaderElection.renewDeadline": 3,
    "leaderElection.retryPeriod": 1,
}


def values(app: App, **more: Any) -> dict[str, Any]:
    return {"operator.prometheusAddress": app.prometheus_url, "operator.resyncSeconds": 30,
            **FAST_LEASE, **more}


async def phase(app: App, name: str, wanted: str) -> JsonObj | None:
    status = await app.status(name)
    return status if status.get("phase") == wanted else None


def forbidden_lines(replicas: Replicas) -> list[JsonObj]:
    """Log lines about a refused request (the API server's 403 message says "forbidden")."""
    return [line for op in replicas.started for line in op.lines()
            if "forbidden" in str(line).lower()]


@pytest.fixture
def replicas(tmp_path: Path) -> Any:
    started: list[Replicas] = []

    def make(installed: Installed) -> Replicas:
        group = Replicas(installed.args, installed.kubeconfig, installed.namespace, tmp_path)
        started.append(group)
        return group

    yield make
    for group in started:
        group.stop()


async def test_token_of_the_chart_service_account_authenticates_as_that_account(
    install_rbac: Any, app: App, control_plane: ControlPlane | ExistingCluster,
) -> None:
    installed: Installed = install_rbac(values(app))
    expected = f"system:serviceaccount:{installed.namespace}:{installed.release}-canary-operator"
    for connect in (
        {"kubeconfig": installed.kubeconfig},
        # `canary operator --token-file`: the admin kubeconfig's server, the token's identity.
        {"kubeconfig": control_plane.kubeconfig, "token": installed.token},
    ):
        async with await Kube.connect(**connect) as kube:
            review = await kube.create(SELF_SUBJECT_REVIEW, {
                "apiVersion": SELF_SUBJECT_REVIEW.api_version, "kind": "SelfSubjectReview",
            })
        assert review["status"]["userInfo"]["username"] == expected


async def test_namespaced_install_rolls_out_to_100_percent_as_its_service_account(
    install_rbac: Any, app: App, replicas: Any,
) -> None:
    installed: Installed = install_rbac(values(app, **{"watch.namespaces": [app.namespace]}))
    assert f"--namespace={app.namespace}" in installed.args
    app.set_success(100)
    await app.create_canary()
    group: Replicas = replicas(installed)
    operator = group.start()
    status = await eventually(lambda: phase(app, "api", "Succeeded"), within=120,
                              what="Succeeded", detail=operator.tail)
    assert status["canaryWeight"] == 100
    assert await app.weights() == (0, 100)
    events = await app.kube.list(Resource("events.k8s.io", "v1", "events", "Event"),
                                 app.namespace)
    assert "Promoted" in {e.get("reason") for e in events[0]}, "events were not recorded"
    assert forbidden_lines(group) == []
    assert 'code="403"' not in operator.metrics()
    assert 'canary_operator_rollouts_promoted_total{canary="api"' in operator.metrics()
    lease = await app.kube.get(LEASE, f"{installed.release}-canary-operator", installed.namespace)
    assert lease["spec"]["holderIdentity"] == operator.identity()


async def test_cluster_wide_install_with_a_selector_manages_only_its_shard(
    install_rbac: Any, app: App, replicas: Any,
) -> None:
    shard = app.namespace  # unique per test, so Canaries left by other tests are not in it
    installed: Installed = install_rbac(values(app, **{"watch.labelSelector": f"shard={shard}"}))
    assert not any(arg.startswith("--namespace") for arg in installed.args)
    app.set_success(100)
    await app.create_canary("api", labels={"shard": shard})
    await app.create_canary("other", labels={"shard": "someone-else"})
    group: Replicas = replicas(installed)
    operator = group.start()
    await eventually(lambda: phase(app, "api", "Succeeded"), within=120, what="Succeeded",
                     detail=operator.tail)
    other = await app.kube.get(CANARY, "other", app.namespace)
    assert "status" not in other, "a Canary outside the shard was reconciled"
    assert not other["metadata"].get("finalizers")
    assert forbidden_lines(group) == []


async def test_writes_outside_the_chart_rbac_are_refused(
    install_rbac: Any, app: App, operator_namespace: str,
) -> None:
    installed: Installed = install_rbac(values(app, **{"watch.namespaces": [app.namespace]}))
    ns = app.namespace
    async with await Kube.connect(kubeconfig=installed.kubeconfig) as sa:
        await sa.get(HTTPROUTE, "api-route", ns)  # allowed: it reads routes
        refused = {
            "delete an HTTPRoute": sa.delete(HTTPROUTE, "api-route", ns),
            "create a Deployment": sa.create(DEPLOYMENT, {
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "x", "image": "x"}]}}},
            }, ns),
            "patch a Service": sa.patch(SERVICE, "api-svc-v1", {"metadata": {"labels": {"a": "b"}}},
                                        namespace=ns),
            "create a Canary": sa.create(CANARY, {
                "apiVersion": CANARY.api_version, "kind": "Canary", "metadata": {"name": "x"},
                "spec": {}}, ns),
            "read a Secret outside the watched namespaces": sa.get(SECRET, "x", operator_namespace),
            "read Canaries in a namespace it does not watch": sa.list(CANARY, operator_namespace),
            "take another Lease": sa.replace(LEASE, "kube-scheduler", {
                "apiVersion": LEASE.api_version, "kind": "Lease",
                "metadata": {"name": "kube-scheduler"}, "spec": {}}, namespace=operator_namespace),
        }
        allowed = []
        for what, call in refused.items():
            try:
                await call
            except Forbidden as exc:
                assert exc.status == 403
            else:
                allowed.append(what)
    assert allowed == []
    assert (await app.weights()) == (100, 0)

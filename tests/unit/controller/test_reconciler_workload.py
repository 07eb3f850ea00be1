"""The reconciler hands `decide` what workload mode needs: the Deployments and Services as seen
in the caches (`Observations.workload`), and `spec.revision` set to the Deployment's pod
template hash, so that a new template is a new revision."""

from __future__ import annotations

from typing import Any

import pytest

from canary.api.spec import CanarySpec
from canary.controller import reconciler as reconciler_module
from canary.controller.clock import VirtualClock
from canary.controller.manager import Manager
from canary.controller.queue import Key
from canary.controller.reconciler import Reconciler
from canary.controller.result import Done, Result
from canary.controller.settings import OperatorSettings
from canary.core.observations import Observations
from canary.kube.resources import CANARY, DEPLOYMENT, JsonObj
from canary.kube.workloads import template_hash

pytestmark = pytest.mark.unit

NS = "shop"
TEMPLATE: JsonObj = {"metadata": {"labels": {"app": "app"}},
                     "spec": {"containers": [{"name": "app", "image": "demoapp:v2"}]}}


def canary() -> JsonObj:
    return {"kind": "Canary", "metadata": {"namespace": NS, "name": "app", "generation": 1,
                                           "resourceVersion": "1", "uid": "u"},
            "spec": {"routeRef": {"name": "web"}, "workload": {"name": "app", "port": 80},
                     "steps": {"weights": [50], "interval": "1m"}}}


def deployment() -> JsonObj:
    return {"kind": "Deployment", "metadata": {"namespace": NS, "name": "app", "generation": 1},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "app"}},
                     "template": TEMPLATE}, "status": {}}


def reconciler(workloads: bool) -> tuple[Reconciler, Manager]:
    async def idle(key: Key) -> Result:
        return Done()

    manager = Manager(object(), OperatorSettings(namespaces=(NS,), workloads=workloads),  # type: ignore[arg-type]
                      clock=VirtualClock(), make_reconciler=lambda *_: idle)
    recon = Reconciler(kube=object(), caches=manager.caches, sampler=object(),  # type: ignore[arg-type]
                       events=object(), clock=VirtualClock())  # type: ignore[arg-type]
    return recon, manager


@pytest.fixture
def decided(monkeypatch: pytest.MonkeyPatch) -> list[tuple[CanarySpec, Observations]]:
    seen: list[tuple[CanarySpec, Observations]] = []

    def decide(spec: CanarySpec, status: Any, *, observations: Observations, **_: Any) -> Any:
        seen.append((spec, observations))
        return "decision"

    monkeypatch.setattr(reconciler_module, "decide", decide)
    monkeypatch.setattr(reconciler_module, "sampling_due", lambda *_, **__: None)
    return seen


async def test_the_revision_is_the_deployments_template_hash(
    decided: list[tuple[CanarySpec, Observations]],
) -> None:
    recon, manager = reconciler(workloads=True)
    manager.caches.upsert(DEPLOYMENT, deployment())
    manager.caches.upsert(CANARY, canary())
    _, spec = await recon._decide(canary())
    ((given, observations),) = decided
    assert given.revision == template_hash(TEMPLATE) == spec.revision  # type: ignore[union-attr]
    assert observations.workload is not None
    assert observations.workload.source.exists
    assert observations.workload.source.images == ("demoapp:v2",)
    assert not observations.workload.primary.exists


async def test_without_the_deployment_the_spec_is_left_and_the_observation_says_so(
    decided: list[tuple[CanarySpec, Observations]],
) -> None:
    recon, _ = reconciler(workloads=True)
    await recon._decide(canary())
    ((given, observations),) = decided
    assert given.revision is None
    assert observations.workload is not None and not observations.workload.source.exists
    assert observations.workload.source.problem == ""


async def test_without_workload_mode_the_observation_says_it_is_off(
    decided: list[tuple[CanarySpec, Observations]],
) -> None:
    recon, _ = reconciler(workloads=False)
    await recon._decide(canary())
    ((given, observations),) = decided
    assert given.revision is None
    assert observations.workload is not None
    assert "--workloads" in observations.workload.source.problem

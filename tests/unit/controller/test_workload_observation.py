"""A workload-mode Canary's Deployments and Services, read from the caches as the core sees
them (`deployment_state`, `observe_workload`)."""

from __future__ import annotations

from typing import Any

import pytest

from canary.api.workload import WorkloadRef
from canary.controller.caches import Caches
from canary.controller.workloads import deployment_state, observe_workload
from canary.kube.resources import DEPLOYMENT, HPA, SERVICE, JsonObj
from canary.kube.workloads import (
    REVISION_ANNOTATION,
    primary_autoscaler,
    primary_deployment,
    services,
    template_hash,
)

pytestmark = pytest.mark.unit

WORKLOAD = WorkloadRef(name="app", port=80)
CANARY: JsonObj = {"metadata": {"namespace": "shop", "name": "app", "uid": "u-1"}}


def deployment(
    *, replicas: int = 3, generation: int = 2, status: dict[str, Any] | None = None,
    image: str = "demoapp:v1",
) -> JsonObj:
    done = {"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas}
    return {
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "shop", "generation": generation},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "app"}},
            "template": {"metadata": {"labels": {"app": "app"}},
                         "spec": {"containers": [{"name": "app", "image": image},
                                                 {"name": "side", "image": "proxy:1"}]}},
        },
        "status": done if status is None else status,
    }


def test_a_missing_deployment() -> None:
    state = deployment_state(None)
    assert not state.exists and state.revision == "" and not state.rolled_out


def test_a_rolled_out_deployment() -> None:
    obj = deployment()
    state = deployment_state(obj)
    assert state.exists and state.rolled_out
    assert state.revision == template_hash(obj["spec"]["template"])
    assert state.images == ("demoapp:v1", "proxy:1")
    assert state.replicas == 3 and state.ready == 3


@pytest.mark.parametrize(
    ("status", "ready"),
    [
        ({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
          "availableReplicas": 3}, 0),  # the controller has not seen the new template yet
        ({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "readyReplicas": 4,
          "availableReplicas": 4}, 3),  # an old pod is still there
        ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "readyReplicas": 3,
          "availableReplicas": 3}, 2),  # not every replica runs the template
        ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 2,
          "availableReplicas": 2}, 2),  # not every replica is available
        ({}, 0),
    ],
)
def test_not_rolled_out(status: dict[str, Any], ready: int) -> None:
    state = deployment_state(deployment(status=status))
    assert not state.rolled_out
    assert state.ready == ready


def test_scaled_to_zero_is_rolled_out_with_nothing_ready() -> None:
    state = deployment_state(deployment(replicas=0, status={"observedGeneration": 2}))
    assert state.rolled_out and state.replicas == 0 and state.ready == 0


def test_the_primarys_revision_is_its_annotation() -> None:
    source = deployment()
    primary = primary_deployment(source, CANARY, WORKLOAD, replicas=3)
    state = deployment_state(primary, primary=True)
    assert state.revision == template_hash(source["spec"]["template"])
    assert primary["metadata"]["annotations"][REVISION_ANNOTATION] == state.revision


def _caches(*objs: tuple[Any, JsonObj]) -> Caches:
    class Store:
        def __init__(self, resource: Any) -> None:
            self.resource, self.namespace = resource, None
            self.objs: dict[tuple[str, str], JsonObj] = {}

        def get(self, namespace: str, name: str) -> JsonObj | None:
            return self.objs.get((namespace, name))

        def items(self, namespace: str | None = None) -> list[JsonObj]:
            return [o for (ns, _), o in self.objs.items() if namespace in (None, ns)]

    caches = Caches()
    for resource in (DEPLOYMENT, SERVICE, HPA):
        caches.by_kind[resource.plural] = [Store(resource)]  # type: ignore[list-item]
    for resource, obj in objs:
        store = caches.by_kind[resource.plural][0]
        store.objs[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj  # type: ignore[attr-defined]
    return caches


def test_observe_a_managed_workload() -> None:
    source = deployment()
    primary = primary_deployment(source, CANARY, WORKLOAD, replicas=3)
    svc_primary, svc_canary = services(source, CANARY, WORKLOAD)
    caches = _caches((DEPLOYMENT, source), (DEPLOYMENT, primary), (SERVICE, svc_primary),
                     (SERVICE, svc_canary))
    seen = observe_workload(caches, "shop", WORKLOAD)
    assert seen.source.exists and seen.source.problem == ""
    assert seen.primary.exists and seen.primary.revision == seen.source.revision
    assert seen.services


def test_observe_before_anything_exists() -> None:
    seen = observe_workload(_caches(), "shop", WORKLOAD)
    assert not seen.source.exists and not seen.primary.exists and not seen.services


def test_observe_reports_an_overlap_and_a_missing_hpa() -> None:
    source = deployment()
    other = deployment()
    other["metadata"]["name"] = "other"
    with_hpa = WorkloadRef(name="app", port=80, autoscaler_ref={"name": "app"})
    seen = observe_workload(_caches((DEPLOYMENT, source), (DEPLOYMENT, other)), "shop", with_hpa)
    assert "overlaps Deployment other" in seen.source.problem
    assert "HorizontalPodAutoscaler app, which does not exist" in seen.source.problem


def test_without_workload_mode_the_observation_says_so() -> None:
    seen = observe_workload(Caches(), "shop", WORKLOAD)
    assert not seen.source.exists and "--workloads" in seen.source.problem


def test_observe_reports_a_primary_service_that_is_not_the_operators() -> None:
    source = deployment()
    users = {"kind": "Service", "metadata": {"name": "app-primary", "namespace": "shop"},
             "spec": {"selector": {"app": "app"}}}
    caches = _caches((DEPLOYMENT, source), (SERVICE, users))
    assert observe_workload(caches, "shop", WORKLOAD).primary.problem == ""  # no Canary given
    seen = observe_workload(caches, "shop", WORKLOAD, CANARY)
    assert "Service app-primary exists and was not made by the operator" in seen.primary.problem
    assert not seen.services


def test_observe_an_hpa_copy_that_no_longer_matches_the_users_hpa() -> None:
    with_hpa = WorkloadRef(name="app", port=80, autoscaler_ref={"name": "app"})
    source = deployment()
    hpa: JsonObj = {"metadata": {"name": "app", "namespace": "shop"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
        "minReplicas": 2, "maxReplicas": 9}}
    copied = primary_autoscaler(hpa, CANARY, with_hpa)
    in_line = _caches((DEPLOYMENT, source), (HPA, hpa), (HPA, copied))
    assert observe_workload(in_line, "shop", with_hpa, CANARY).autoscaler_in_line
    missing = _caches((DEPLOYMENT, source), (HPA, hpa))
    assert not observe_workload(missing, "shop", with_hpa, CANARY).autoscaler_in_line
    edited = {**hpa, "spec": {**hpa["spec"], "minReplicas": 4}}
    changed = _caches((DEPLOYMENT, source), (HPA, edited), (HPA, copied))
    assert not observe_workload(changed, "shop", with_hpa, CANARY).autoscaler_in_line

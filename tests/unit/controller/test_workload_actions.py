"""The executor's workload actions and the finalizer's release of a workload, against an
in-memory API: what is created, copied, scaled and orphaned, in the decision's order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from harness.fakes import MemoryObjects
from harness.jsonpatch import PatchTestFailed, apply_patch

from canary.api.spec import CanarySpec
from canary.api.workload import POD_LABEL
from canary.controller.caches import Caches
from canary.controller.effects import Effects
from canary.controller.executor import execute
from canary.controller.finalizer import FINALIZER, finalize
from canary.controller.result import PermanentError, TemporaryError
from canary.core.decision import EmitEvent, EnsureWorkload, PromoteTemplate, ScaleWorkload
from canary.kube.errors import Conflict, Forbidden, NotFound
from canary.kube.resources import CANARY, DEPLOYMENT, HPA, SERVICE, JsonObj, Resource
from canary.kube.workloads import REVISION_ANNOTATION, template_hash

pytestmark = pytest.mark.unit

NS = "shop"


@dataclass
class MemoryApi(MemoryObjects):
    calls: list[str] = field(default_factory=list)
    forbid: set[str] = field(default_factory=set)

    async def create(self, res: Resource, body: JsonObj, namespace: str | None = None) -> JsonObj:
        self.calls.append(f"create {res.kind}/{body['metadata']['name']}")
        if (res.plural, namespace or "", body["metadata"]["name"]) in self.objects:
            raise Conflict("already exists", status=409)
        return self.put(res, body)

    async def patch(self, res: Resource, name: str, body: Any, *, namespace: str | None = None,
                    patch_type: str = "merge", subresource: str | None = None) -> JsonObj:
        self.calls.append(f"patch {res.kind}/{name}")
        if f"{res.kind}/{name}" in self.forbid:
            raise Forbidden("forbidden", status=403)
        obj = await self.get_or_none(res, name, namespace)
        if obj is None:
            raise NotFound("not found", status=404)
        if patch_type == "merge":
            for part, values in body.items():
                obj.setdefault(part, {}).update(values)
        else:
            try:
                obj = apply_patch(obj, body)
            except PatchTestFailed as exc:
                raise Conflict(str(exc), status=422) from exc
        return self.put(res, obj)


@dataclass
class Events:
    said: list[tuple[str, str]] = field(default_factory=list)

    async def emit(self, obj: JsonObj, *, type: str, reason: str, message: str) -> None:
        self.said.append((reason, message))


class Store:
    """An informer's cache, enough for `Caches`."""

    def __init__(self, api: MemoryApi, resource: Resource) -> None:
        self.api, self.resource, self.namespace = api, resource, None

    def get(self, namespace: str, name: str) -> JsonObj | None:
        return self.api.objects.get((self.resource.plural, namespace, name))

    def items(self, namespace: str | None = None) -> list[JsonObj]:
        return [o for (p, ns, _), o in self.api.objects.items()
                if p == self.resource.plural and namespace in (None, ns)]

    def upsert(self, obj: JsonObj) -> None:
        pass  # the memory API is the cache


def world(*, hpa: bool = False, on_delete: str = "Restore") -> tuple[MemoryApi, Effects, JsonObj]:
    api = MemoryApi()
    workload: JsonObj = {"name": "app", "port": 80, "targetPort": 8080, "onDelete": on_delete}
    if hpa:
        workload["autoscalerRef"] = {"name": "app"}
        api.put(HPA, {"metadata": {"name": "app", "namespace": NS}, "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
            "minReplicas": 1, "maxReplicas": 5}})
    canary = api.put(CANARY, {"metadata": {"name": "app", "namespace": NS, "uid": "u-1",
                                           "finalizers": [FINALIZER]},
                              "spec": {"routeRef": {"name": "web"}, "workload": workload,
                                       "steps": {"weights": [50], "interval": "1m"}}})
    api.put(DEPLOYMENT, {"metadata": {"name": "app", "namespace": NS}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "app"}},
        "template": {"metadata": {"labels": {"app": "app"}},
                     "spec": {"containers": [{"name": "app", "image": "demoapp:v1"}]}}}})
    caches = Caches()
    for resource in (DEPLOYMENT, SERVICE, HPA, CANARY):
        caches.by_kind[resource.plural] = [Store(api, resource)]  # type: ignore[list-item]
    effects = Effects(kube=api, caches=caches, events=Events())  # type: ignore[arg-type]
    return api, effects, canary


def spec_of(canary: JsonObj) -> CanarySpec:
    return CanarySpec.model_validate(canary["spec"])


def source_hash(api: MemoryApi) -> str:
    return template_hash(api.objects[(DEPLOYMENT.plural, NS, "app")]["spec"]["template"])


async def test_ensure_creates_the_primary_the_services_and_the_hpa_once() -> None:
    api, effects, canary = world(hpa=True)
    wrote = await execute(effects, canary, spec_of(canary), (EnsureWorkload(replicas=2),))
    assert not wrote  # no route write
    assert api.calls == ["create Deployment/app-primary", "create Service/app-primary",
                         "create Service/app-canary", "create HorizontalPodAutoscaler/app-primary"]
    primary = api.objects[(DEPLOYMENT.plural, NS, "app-primary")]
    assert primary["spec"]["replicas"] == 2
    assert primary["metadata"]["annotations"][REVISION_ANNOTATION] == source_hash(api)
    assert api.objects[(SERVICE.plural, NS, "app-canary")]["spec"]["selector"] == {"app": "app"}
    hpa = api.objects[(HPA.plural, NS, "app-primary")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "app-primary"
    api.calls.clear()
    await execute(effects, canary, spec_of(canary), (EnsureWorkload(replicas=2),))
    assert api.calls == []  # everything exists: nothing is written


async def test_ensure_without_the_deployment_is_a_warning_and_a_retry() -> None:
    api, effects, canary = world()
    del api.objects[(DEPLOYMENT.plural, NS, "app")]
    with pytest.raises(TemporaryError):
        await execute(effects, canary, spec_of(canary), (EnsureWorkload(replicas=2),))
    assert [r for r, _ in effects.events.said] == ["WorkloadWriteFailed"]  # type: ignore[attr-defined]


async def test_promote_copies_the_current_template_only_if_it_is_the_decided_one() -> None:
    api, effects, canary = world()
    await execute(effects, canary, spec_of(canary), (EnsureWorkload(replicas=2),))
    source = api.objects[(DEPLOYMENT.plural, NS, "app")]
    source["spec"]["template"]["spec"]["containers"][0]["image"] = "demoapp:v2"
    v2 = source_hash(api)
    await execute(effects, canary, spec_of(canary), (PromoteTemplate(revision="0123456789"),))
    primary = api.objects[(DEPLOYMENT.plural, NS, "app-primary")]
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] == "demoapp:v1"
    await execute(effects, canary, spec_of(canary), (PromoteTemplate(revision=v2),))
    primary = api.objects[(DEPLOYMENT.plural, NS, "app-primary")]
    assert primary["spec"]["template"]["spec"]["containers"][0]["image"] == "demoapp:v2"
    assert primary["spec"]["template"]["metadata"]["labels"] == {POD_LABEL: "app-primary"}
    assert primary["metadata"]["annotations"][REVISION_ANNOTATION] == v2


async def test_actions_run_in_the_decisions_order_events_last() -> None:
    api, effects, canary = world()
    await execute(effects, canary, spec_of(canary), (EnsureWorkload(replicas=2),))
    api.calls.clear()
    actions = (
        ScaleWorkload(replicas=3, primary=True),
        EmitEvent(type="Normal", reason="Promoted", message="x"),  # type: ignore[arg-type]
        ScaleWorkload(replicas=0),
    )
    await execute(effects, canary, spec_of(canary), actions)
    assert api.calls == ["patch Deployment/app-primary", "patch Deployment/app"]
    assert api.objects[(DEPLOYMENT.plural, NS, "app-primary")]["spec"]["replicas"] == 3
    assert api.objects[(DEPLOYMENT.plural, NS, "app")]["spec"]["replicas"] == 0
    assert [r for r, _ in effects.events.said] == ["Promoted"]  # type: ignore[attr-defined]


async def test_a_refused_scale_is_permanent_and_stops_the_actions_after_it() -> None:
    api, effects, canary = world()
    api.forbid.add("Deployment/app")
    with pytest.raises(PermanentError):
        await execute(effects, canary, spec_of(canary),
                      (ScaleWorkload(replicas=0), ScaleWorkload(replicas=1, primary=True)))
    assert api.calls == ["patch Deployment/app"]
    assert effects.events.said[0][0] == "WorkloadWriteFailed"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("on_delete", "replicas"), [("Restore", 2), ("Keep", 0)])
async def test_deletion_keeps_the_primary_serving_and_restores_per_on_delete(
    on_delete: str, replicas: int
) -> None:
    api, effects, canary = world(on_delete=on_delete)
    await execute(effects, canary, spec_of(canary),
                  (EnsureWorkload(replicas=2), ScaleWorkload(replicas=0)))
    canary["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    await finalize(effects, canary)
    for resource, name in ((DEPLOYMENT, "app-primary"), (SERVICE, "app-primary"),
                           (SERVICE, "app-canary")):
        assert api.objects[(resource.plural, NS, name)]["metadata"]["ownerReferences"] == []
    assert api.objects[(DEPLOYMENT.plural, NS, "app-primary")]["spec"]["replicas"] == 2
    assert api.objects[(DEPLOYMENT.plural, NS, "app")]["spec"]["replicas"] == replicas
    assert api.objects[(CANARY.plural, NS, "app")]["metadata"].get("finalizers") == []


async def test_deletion_without_workload_mode_touches_no_workload() -> None:
    api, effects, canary = world()
    effects.caches.by_kind.pop(DEPLOYMENT.plural)
    canary["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    await finalize(effects, canary)
    assert api.calls == ["patch Canary/app"]  # only the finalizer's removal


async def test_a_foreign_primary_is_never_written_and_a_released_one_is_adopted() -> None:
    api, effects, canary = world()
    api.put(SERVICE, {"metadata": {"name": "app-canary", "namespace": NS}, "spec": {}})
    with pytest.raises(TemporaryError):
        await execute(effects, canary, spec_of(canary), (EnsureWorkload(replicas=2),))
    assert "not made by the operator" in effects.events.said[-1][1]  # type: ignore[attr-defined]
    del api.objects[(SERVICE.plural, NS, "app-canary")]
    await execute(effects, canary, spec_of(canary), (EnsureWorkload(replicas=2),))
    primary = api.objects[(DEPLOYMENT.plural, NS, "app-primary")]
    primary["metadata"]["ownerReferences"] = []  # released by an earlier Canary's deletion
    api.calls.clear()
    await execute(effects, canary, spec_of(canary), (EnsureWorkload(replicas=2),))
    assert api.calls == ["patch Deployment/app-primary"]
    assert api.objects[(DEPLOYMENT.plural, NS, "app-primary")]["metadata"]["ownerReferences"][
        0]["uid"] == "u-1"
    primary = api.objects[(DEPLOYMENT.plural, NS, "app-primary")]
    primary["metadata"]["labels"] = {}
    primary["metadata"]["ownerReferences"] = []
    api.calls.clear()
    for action in (PromoteTemplate(revision=source_hash(api)),
                   ScaleWorkload(replicas=0, primary=True)):
        with pytest.raises(TemporaryError):
            await execute(effects, canary, spec_of(canary), (action,))
    assert not [c for c in api.calls if c.startswith("patch")]

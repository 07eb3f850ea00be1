"""`canary check` in workload mode: the Deployment must exist, an HPA without `autoscalerRef`
is a warning, the operator's own objects are created if absent, and the route rule that sends to
the user's Service gets exactly the change it needs (`--print-patch`)."""

from __future__ import annotations

import copy
import json
import shlex
from typing import Any

import pytest

from canary.api.resource import Canary
from canary.api.workload import WorkloadRef
from canary.cli.findings import Finding, Severity, blocking
from canary.cli.preflight import _before_the_operator, check_canary
from canary.cli.workload import (
    WorkloadWorld,
    json_patch,
    not_ready_to_patch,
    patch_command,
    route_migration,
    rule_patches,
    user_services,
    workload_findings,
)

pytestmark = pytest.mark.unit

WL = WorkloadRef.model_validate({"name": "api", "port": 8080})


def deployment(name: str = "api", **labels: str) -> dict[str, Any]:
    labels = labels or {"app": "api", "tier": "web"}
    return {
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": labels.get("app", name)}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "api", "image": "shop/api:v1", "ports": [{"containerPort": 8080}]}
                    ]
                },
            },
        },
    }


def service(name: str, selector: dict[str, str], *, owner: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "shop"}
    if owner:
        meta["ownerReferences"] = [{"kind": "Canary", "name": owner, "uid": "uid-1"}]
    return {"metadata": meta, "spec": {"selector": selector, "ports": [{"port": 8080}]}}


def route(*rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "api-route", "namespace": "shop"},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "rules": [
                {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": refs}
                for refs in rules
            ],
        },
    }


ROUTE = route(
    [{"name": "static", "port": 80}],
    [{"name": "api", "port": 8080, "filters": [{"type": "RequestHeaderModifier"}]}],
)
SERVICES = [
    service("api", {"app": "api"}),
    service("static", {"app": "static"}),
    service("everything", {}),
]


def world(**changes: Any) -> WorkloadWorld:
    base: dict[str, Any] = {
        "namespace": "shop",
        "canary": "api",
        "canary_uid": "uid-1",
        "workload": WL,
        "deployment": deployment(),
        "services": SERVICES,
        "deployments": [deployment()],
        "autoscalers": [],
        "route": ROUTE,
        "route_name": "api-route",
    }
    return WorkloadWorld(**{**base, **changes})


def subjects(found: list[Finding], severity: Severity) -> list[str]:
    return [f.subject for f in found if f.severity is severity]


def test_the_users_service_is_the_one_whose_selector_matches_the_pod_labels() -> None:
    assert user_services(deployment(), SERVICES, WL) == ["api"]


def test_the_rule_that_sends_to_the_users_service_gets_the_two_operator_services() -> None:
    (patch,) = rule_patches(ROUTE, ["api"], WL, "shop")
    assert patch.index == 1
    filters = [{"type": "RequestHeaderModifier"}]
    assert patch.after == [
        {"name": "api-primary", "port": 8080, "weight": 100, "filters": filters},
        {"name": "api-canary", "port": 8080, "weight": 0, "filters": filters},
    ]


def test_other_backends_of_the_rule_are_kept() -> None:
    mixed = route([{"name": "legacy", "port": 80, "weight": 10}, {"name": "api", "port": 8080}])
    (patch,) = rule_patches(mixed, ["api"], WL, "shop")
    assert [r["name"] for r in patch.after] == ["legacy", "api-primary", "api-canary"]


def test_a_service_of_the_same_name_in_another_namespace_is_not_the_users() -> None:
    other = route([{"name": "api", "namespace": "elsewhere", "port": 8080}])
    assert rule_patches(other, ["api"], WL, "shop") == []


def test_the_printed_command_is_a_json_patch_that_tests_before_it_replaces() -> None:
    ops = json_patch(route_migration(world()))
    assert [op["op"] for op in ops] == ["test", "replace"]
    assert {op["path"] for op in ops} == {"/spec/rules/1/backendRefs"}
    command = patch_command("shop", "HTTPRoute", "api-route", ops)
    words = shlex.split(command)
    assert words[:7] == ["kubectl", "-n", "shop", "patch", "httproute", "api-route", "--type=json"]
    assert json.loads(words[-1]) == ops
    patched = copy.deepcopy(ROUTE)
    for op in ops:
        refs = patched["spec"]["rules"][1]
        if op["op"] == "test":
            assert refs["backendRefs"] == op["value"]
        else:
            refs["backendRefs"] = op["value"]
    assert [r["name"] for r in patched["spec"]["rules"][1]["backendRefs"]] == [
        "api-primary",
        "api-canary",
    ]
    assert patched["spec"]["rules"][0] == ROUTE["spec"]["rules"][0]


def test_an_unmigrated_route_blocks_and_says_what_to_change() -> None:
    found = workload_findings(world(), managed=False)
    (route_finding,) = [f for f in found if f.subject == "route api-route"]
    assert route_finding.severity is Severity.BLOCKER
    assert route_finding.message == (
        "rule 1 sends to api:8080 (Deployment api's pods); in workload mode it must send to "
        "backendRefs api-primary:8080 (weight 100) and api-canary:8080 (weight 0) instead"
    )
    assert "canary check api --print-patch" in route_finding.hint


def test_a_migrated_route_needs_no_change() -> None:
    found = workload_findings(world(), managed=True)
    assert not blocking(found)
    assert "route api-route" not in [f.subject for f in found]


def test_the_operators_objects_are_created_if_absent() -> None:
    found = workload_findings(world(), managed=True)
    assert subjects(found, Severity.OK) == [
        "deployment api",
        "deployment api-primary",
        "service api-primary",
        "service api-canary",
    ]
    assert all("creates it" in f.message for f in found[1:])


def test_someone_elses_service_of_the_operators_name_is_a_warning() -> None:
    taken = [
        *SERVICES,
        service("api-canary", {"app": "x"}),
        service("api-primary", {}, owner="api"),
    ]
    found = workload_findings(world(services=taken), managed=True)
    assert subjects(found, Severity.WARNING) == ["service api-canary"]


def test_a_missing_deployment_blocks() -> None:
    found = workload_findings(world(deployment=None, deployments=[]), managed=False)
    (blocker,) = [f for f in found if f.severity is Severity.BLOCKER]
    assert blocker.message == "Deployment shop/api (spec.workload.name) does not exist"


def hpa(name: str, target: str = "api") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}},
    }


def test_an_hpa_without_autoscaler_ref_is_a_warning_naming_it() -> None:
    found = workload_findings(world(autoscalers=[hpa("api-hpa")]), managed=True)
    (warning,) = [f for f in found if f.severity is Severity.WARNING]
    assert warning.subject == "hpa api-hpa"
    assert warning.hint.startswith("set spec.workload.autoscalerRef.name: api-hpa")


@pytest.mark.parametrize(
    ("autoscalers", "severity"),
    [
        ([hpa("api-hpa")], Severity.OK),
        ([], Severity.BLOCKER),
        ([hpa("api-hpa", "web")], Severity.BLOCKER),
    ],
)
def test_an_autoscaler_ref_must_name_the_deployments_hpa(
    autoscalers: list[dict[str, Any]], severity: Severity
) -> None:
    wl = WorkloadRef.model_validate(
        {"name": "api", "port": 8080, "autoscalerRef": {"name": "api-hpa"}}
    )
    found = workload_findings(world(workload=wl, autoscalers=autoscalers), managed=True)
    (finding,) = [f for f in found if f.subject == "hpa api-hpa"]
    assert finding.severity is severity


def test_a_target_port_no_container_declares_is_a_warning() -> None:
    wl = WorkloadRef.model_validate({"name": "api", "port": 80, "targetPort": 9090})
    found = workload_findings(world(workload=wl), managed=True)
    assert "no container declares port 9090" in " ".join(f.message for f in found)


def test_the_operators_services_not_found_by_the_gateway_do_not_block_before_it_runs() -> None:
    found = [
        Finding(Severity.BLOCKER, "route api-route", "BackendNotFound: service api-canary"),
        Finding(Severity.BLOCKER, "route api-route", "no managed rule found"),
    ]
    (kept,) = _before_the_operator(found, world())
    assert kept.severity is Severity.WARNING and "first reconcile" in kept.hint


def owned(obj: dict[str, Any], **status: Any) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["metadata"]["ownerReferences"] = [{"kind": "Canary", "name": "api", "uid": "uid-1"}]
    obj["status"] = status
    return obj


def test_the_route_is_not_patched_before_the_operator_created_a_ready_primary() -> None:
    said = not_ready_to_patch(world())
    assert said is not None and said.startswith(
        "Deployment api-primary, Service api-primary, Service api-canary do not exist yet"
    )
    services = [
        *SERVICES,
        service("api-primary", {}, owner="api"),
        service("api-canary", {}, owner="api"),
    ]
    starting = owned(deployment("api-primary"), availableReplicas=0)
    said = not_ready_to_patch(world(services=services, deployments=[deployment(), starting]))
    assert said is not None and "has no available pod yet" in said
    ready = owned(deployment("api-primary"), availableReplicas=3)
    assert not_ready_to_patch(world(services=services, deployments=[deployment(), ready])) is None


class FakeKube:
    """Reads only, from fixed lists by plural."""

    def __init__(self, objs: dict[str, list[dict[str, Any]]]) -> None:
        self.objs = objs

    async def get_or_none(self, res: Any, name: str, ns: str | None = None) -> Any:
        return next((o for o in self.objs.get(res.plural, []) if _named(o, name)), None)

    async def list(self, res: Any, ns: str | None = None, **_: Any) -> Any:
        return self.objs.get(res.plural, []), "1"


def _named(obj: dict[str, Any], name: str) -> bool:
    return bool(obj["metadata"]["name"] == name)


async def test_check_of_a_workload_canary_reads_the_deployment_and_says_what_to_change() -> None:
    kube = FakeKube(
        {
            "httproutes": [ROUTE],
            "services": SERVICES,
            "deployments": [deployment()],
            "horizontalpodautoscalers": [hpa("api")],
            "gateways": [{"metadata": {"name": "gw", "namespace": "shop"}, "spec": {}}],
        }
    )
    canary = Canary.model_validate(
        {
            "apiVersion": "rollouts.canary-operator.io/v1alpha1",
            "kind": "Canary",
            "metadata": {"name": "api", "namespace": "shop"},
            "spec": {
                "routeRef": {"name": "api-route"},
                "workload": {"name": "api", "port": 8080},
                "steps": {"weights": [5, 50]},
            },
        }
    )
    found = await check_canary(kube, canary, prometheus=None)  # type: ignore[arg-type]
    said = [f"{f.severity} {f.subject}: {f.message}" for f in found]
    assert "ok deployment api: exists, 3 replica(s), images shop/api:v1" in said
    assert subjects(found, Severity.WARNING)[:1] == ["hpa api"]
    assert not any("BackendsNotInRoute" in s for s in said)  # the migration finding says it
    assert any(s.startswith("blocker route api-route: rule 1 sends to api:8080") for s in said)
    assert not any(
        f.subject.startswith("service api-") and f.severity is Severity.BLOCKER for f in found
    )

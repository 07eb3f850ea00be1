"""Workload mode's pure helpers: the template hash, the manifests of what the operator owns,
the patches it writes, and the selector/HPA problems it reports."""

from __future__ import annotations

import copy

import pytest

from canary.api.workload import POD_LABEL, WorkloadRef
from canary.kube.resources import JsonObj
from canary.kube.workloads import (
    REVISION_ANNOTATION,
    adopt_patch,
    autoscaler_drift_patch,
    autoscaler_in_line,
    autoscaler_problem,
    foreign_problem,
    owned_by,
    primary_autoscaler,
    primary_deployment,
    promotion_patch,
    scale_patch,
    selector_problem,
    service_drift_patch,
    services,
    services_ready,
    template_hash,
    without_owner_patch,
)

pytestmark = pytest.mark.unit

WORKLOAD = WorkloadRef(name="app", port=80, target_port=8080)
CANARY: JsonObj = {"metadata": {"namespace": "shop", "name": "app", "uid": "u-1"}}


def deployment(
    name: str = "app",
    *,
    selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    image: str = "demoapp:v1",
    namespace: str = "shop",
) -> JsonObj:
    selector = {"app": name} if selector is None else selector
    labels = {**selector, "tier": "web"} if labels is None else labels
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": {"team": "a"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels, "annotations": {"a": "b"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def test_template_hash_is_stable_short_and_order_independent() -> None:
    a: JsonObj = {"metadata": {"labels": {"x": "1", "y": "2"}}, "spec": {"containers": []}}
    b: JsonObj = {"spec": {"containers": []}, "metadata": {"labels": {"y": "2", "x": "1"}}}
    assert template_hash(a) == template_hash(b)
    assert len(template_hash(a)) == 10
    assert all(c in "0123456789abcdef" for c in template_hash(a))
    changed = copy.deepcopy(a)
    changed["spec"]["containers"] = [{"image": "v2"}]
    assert template_hash(changed) != template_hash(a)


def test_primary_deployment_drops_the_users_selector_keys_and_selects_by_pod_label() -> None:
    source = deployment()
    primary = primary_deployment(source, CANARY, WORKLOAD, replicas=5)
    assert primary["metadata"]["name"] == "app-primary"
    assert primary["metadata"]["namespace"] == "shop"
    assert primary["spec"]["replicas"] == 5
    assert primary["spec"]["selector"] == {"matchLabels": {POD_LABEL: "app-primary"}}
    labels = primary["spec"]["template"]["metadata"]["labels"]
    assert labels == {"tier": "web", POD_LABEL: "app-primary"}  # "app" (the selector key) dropped
    assert primary["spec"]["template"]["spec"] == source["spec"]["template"]["spec"]
    assert primary["spec"]["strategy"] == {"type": "RollingUpdate"}  # the rest is copied
    assert primary["metadata"]["annotations"] == {
        REVISION_ANNOTATION: template_hash(source["spec"]["template"])
    }
    (ref,) = primary["metadata"]["ownerReferences"]
    assert ref["kind"] == "Canary" and ref["uid"] == "u-1" and ref["controller"] is True
    assert ref["blockOwnerDeletion"] is False
    assert source == deployment()  # the user's object is never modified


def test_services_select_the_primary_by_pod_label_and_the_canary_by_the_users_selector() -> None:
    primary, canary = services(deployment(), CANARY, WORKLOAD)
    assert primary["metadata"]["name"] == "app-primary"
    assert canary["metadata"]["name"] == "app-canary"
    assert primary["spec"]["selector"] == {POD_LABEL: "app-primary"}
    assert canary["spec"]["selector"] == {"app": "app"}
    for svc in (primary, canary):
        (port,) = svc["spec"]["ports"]
        assert port["port"] == 80 and port["targetPort"] == 8080
        assert svc["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    default = WorkloadRef(name="app", port=80)
    assert services(deployment(), CANARY, default)[0]["spec"]["ports"][0]["targetPort"] == 80


def test_the_canary_service_never_selects_the_primarys_pods() -> None:
    source = deployment()
    _, canary = services(source, CANARY, WORKLOAD)
    pod_labels = primary_deployment(source, CANARY, WORKLOAD, replicas=1)["spec"]["template"][
        "metadata"]["labels"]
    assert not all(pod_labels.get(k) == v for k, v in canary["spec"]["selector"].items())


def test_services_ready_needs_both_with_the_expected_selectors() -> None:
    source = deployment()
    primary, canary = services(source, CANARY, WORKLOAD)
    assert services_ready(primary, canary, source, WORKLOAD)
    assert not services_ready(primary, None, source, WORKLOAD)
    assert not services_ready(primary, canary, None, WORKLOAD)
    foreign = copy.deepcopy(canary)
    foreign["spec"]["selector"] = {"app": "other"}
    assert not services_ready(primary, foreign, source, WORKLOAD)
    moved = WorkloadRef(name="app", port=81, target_port=8080)
    assert not services_ready(primary, canary, source, moved)


def test_a_drifted_service_is_patched_back() -> None:
    source = deployment()
    _, wanted = services(source, CANARY, WORKLOAD)
    current = copy.deepcopy(wanted)
    current["metadata"]["resourceVersion"] = "9"
    assert service_drift_patch(current, wanted) == []
    current["spec"]["selector"] = {"app": "old", "extra": "x"}
    current["spec"]["ports"][0]["port"] = 81
    test, selector, ports = service_drift_patch(current, wanted)
    assert test["value"] == "9"
    assert selector["value"] == {"app": "app"} and ports["value"][0]["port"] == 80


def test_promotion_patch_replaces_the_template_and_records_the_revision() -> None:
    source = deployment(image="demoapp:v2")
    primary = {"metadata": {"resourceVersion": "7", "annotations": {"x": "y"}}}
    test, replace, annotate = promotion_patch(source, primary, WORKLOAD)
    assert test == {"op": "test", "path": "/metadata/resourceVersion", "value": "7"}
    assert replace["op"] == "replace" and replace["path"] == "/spec/template"
    assert replace["value"]["metadata"]["labels"][POD_LABEL] == "app-primary"
    assert replace["value"]["spec"]["containers"][0]["image"] == "demoapp:v2"
    assert annotate == {
        "op": "add",
        "path": "/metadata/annotations/rollouts.canary-operator.io~1revision",
        "value": template_hash(source["spec"]["template"]),
    }
    *_, whole = promotion_patch(source, {"metadata": {"resourceVersion": "7"}}, WORKLOAD)
    assert whole["path"] == "/metadata/annotations"


def test_scale_patch() -> None:
    assert scale_patch(0) == {"spec": {"replicas": 0}}


def test_autoscaler_copy_targets_the_primary() -> None:
    hpa: JsonObj = {"metadata": {"name": "app"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
        "minReplicas": 2, "maxReplicas": 9}}
    copied = primary_autoscaler(hpa, CANARY, WORKLOAD)
    assert copied["apiVersion"] == "autoscaling/v2"
    assert copied["metadata"]["name"] == "app-primary"
    assert copied["spec"]["scaleTargetRef"]["name"] == "app-primary"
    assert copied["spec"]["maxReplicas"] == 9
    assert hpa["spec"]["scaleTargetRef"]["name"] == "app"


def test_autoscaler_problems() -> None:
    with_hpa = WorkloadRef(name="app", port=80, autoscaler_ref={"name": "app-hpa"})
    assert autoscaler_problem(None, WORKLOAD) == ""
    assert "does not exist" in autoscaler_problem(None, with_hpa)
    other: JsonObj = {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "other"}}}
    assert "not Deployment/app" in autoscaler_problem(other, with_hpa)
    own: JsonObj = {"spec": {"scaleTargetRef": {"kind": "Deployment", "name": "app"}}}
    assert autoscaler_problem(own, with_hpa) == ""


def test_selector_overlap_is_a_problem_that_says_what_to_fix() -> None:
    source = deployment()
    assert selector_problem(source, [source, deployment("db")]) == ""
    # Another Deployment's pods carry the user's selector: the canary Service would select them.
    twin = deployment("worker", selector={"role": "w"}, labels={"app": "app", "role": "w"})
    problem = selector_problem(source, [twin])
    assert "overlaps Deployment worker" in problem and "app=app" in problem
    # Another Deployment's selector matches the user's pods.
    greedy = deployment("greedy", selector={"tier": "web"}, labels={"tier": "web", "x": "1"})
    assert "greedy" in selector_problem(source, [greedy])
    # Other namespaces do not count.
    assert selector_problem(source, [deployment("worker", namespace="other",
                                                selector={"role": "w"},
                                                labels={"app": "app"})]) == ""
    assert "no spec.selector.matchLabels" in selector_problem(deployment(selector={}), [])


def test_the_primary_does_not_overlap_the_users_deployment() -> None:
    source = deployment()
    primary = primary_deployment(source, CANARY, WORKLOAD, replicas=1)
    primary["metadata"]["namespace"] = "shop"
    assert selector_problem(source, [primary]) == ""


def test_ownership_and_orphaning() -> None:
    primary = primary_deployment(deployment(), CANARY, WORKLOAD, replicas=1)
    primary["metadata"]["resourceVersion"] = "3"
    assert owned_by(primary, CANARY)
    assert not owned_by(primary, {"metadata": {"uid": "other"}})
    test, replace = without_owner_patch(primary, CANARY)
    assert test["value"] == "3" and replace["value"] == []


def test_objects_at_the_operators_names_that_are_not_its_own_are_foreign() -> None:
    primary = primary_deployment(deployment(), CANARY, WORKLOAD, replicas=1)
    assert foreign_problem(None, CANARY) == ""
    assert foreign_problem(primary, CANARY) == ""  # owned
    released = copy.deepcopy(primary)
    released["metadata"]["ownerReferences"] = []
    assert foreign_problem(released, CANARY) == ""  # made by the operator, released
    users = {"kind": "Service", "metadata": {"name": "app-primary"}}
    assert "not made by the operator" in foreign_problem(users, CANARY)
    controlled = copy.deepcopy(primary)
    controlled["metadata"]["ownerReferences"] = [
        {"kind": "Rollout", "name": "x", "uid": "u-2", "controller": True}]
    assert "controlled by Rollout x" in foreign_problem(controlled, CANARY)
    released["metadata"]["resourceVersion"] = "4"
    test, add = adopt_patch(released, CANARY)
    assert test["value"] == "4" and add["value"][0]["uid"] == "u-1"


def _user_hpa(**spec: object) -> JsonObj:
    return {"metadata": {"name": "app-hpa", "namespace": "shop"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
        "minReplicas": 2, "maxReplicas": 9, **spec}}


def test_the_hpa_copy_is_copied_again_when_the_users_hpa_changes() -> None:
    with_hpa = WorkloadRef(name="app", port=80, autoscaler_ref={"name": "app-hpa"})
    copied = {**primary_autoscaler(_user_hpa(), CANARY, with_hpa),
              "metadata": {"name": "app-primary", "resourceVersion": "41"}}
    assert autoscaler_drift_patch(copied, primary_autoscaler(_user_hpa(), CANARY, with_hpa)) == []
    assert autoscaler_in_line(_user_hpa(), copied, CANARY, with_hpa)

    raised = _user_hpa(maxReplicas=20)  # kubectl edit hpa app-hpa
    wanted = primary_autoscaler(raised, CANARY, with_hpa)
    assert autoscaler_drift_patch(copied, wanted) == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "41"},
        {"op": "add", "path": "/spec", "value": wanted["spec"]},
    ]
    assert wanted["spec"]["maxReplicas"] == 20
    assert wanted["spec"]["scaleTargetRef"]["name"] == "app-primary"
    assert not autoscaler_in_line(raised, copied, CANARY, with_hpa)


def test_a_missing_hpa_copy_is_out_of_line_unless_there_is_nothing_to_copy() -> None:
    with_hpa = WorkloadRef(name="app", port=80, autoscaler_ref={"name": "app-hpa"})
    assert not autoscaler_in_line(_user_hpa(), None, CANARY, with_hpa)  # deleted: made again
    assert autoscaler_in_line(None, None, CANARY, with_hpa)  # a problem of its own, said so
    assert autoscaler_in_line(None, None, CANARY, WORKLOAD)  # no autoscalerRef

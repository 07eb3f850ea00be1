"""Workload mode's Kubernetes objects, as pure functions over JSON: the revision of a pod
template, the manifests of what the operator owns (the primary Deployment, the two Services,
the primary's HorizontalPodAutoscaler), and a Deployment read as a `DeploymentState`.

No I/O: the controller reads the objects from its caches and writes what these build
(docs/workloads.md).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from canary.api.workload import POD_LABEL, WorkloadRef
from canary.kube.resources import CANARY, DEPLOYMENT, HPA, SERVICE, JsonObj, Resource

REVISION_ANNOTATION: Final = "rollouts.canary-operator.io/revision"
"""On the primary Deployment: the revision (template hash of the user's template) it runs."""


def template_hash(template: Mapping[str, Any]) -> str:
    """The revision of a pod template: sha256 of its canonical JSON (sorted keys, no spaces),
    the first 10 hex characters. The same template always gives the same hash."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def owner_reference(canary: JsonObj) -> JsonObj:
    """The ownerReference to the Canary every owned object carries (controller, never blocking
    the Canary's deletion)."""
    meta = canary["metadata"]
    return {
        "apiVersion": CANARY.api_version,
        "kind": CANARY.kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": False,
    }


def _owned(
    res: Resource,
    name: str,
    canary: JsonObj,
    spec: JsonObj,
    *,
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> JsonObj:
    """The manifest of an object the operator owns: `name` in the Canary's namespace, with
    `labels` (and `annotations`), the Canary's `owner_reference`, and `spec`."""
    metadata: JsonObj = {
        "name": name,
        "namespace": canary["metadata"]["namespace"],
        "labels": labels,
    }
    if annotations is not None:
        metadata["annotations"] = annotations
    metadata["ownerReferences"] = [owner_reference(canary)]
    return {"apiVersion": res.api_version, "kind": res.kind, "metadata": metadata, "spec": spec}


def _selector_labels(deployment: JsonObj) -> dict[str, str]:
    selector = (deployment.get("spec") or {}).get("selector") or {}
    return {str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}


def primary_template(source: JsonObj, workload: WorkloadRef) -> JsonObj:
    """The user's pod template as the primary runs it: its labels minus the keys of the user's
    selector (so the canary Service, which selects by the user's selector, never matches the
    primary's pods), plus `POD_LABEL: <name>-primary`."""
    template = copy.deepcopy((source.get("spec") or {}).get("template") or {})
    metadata = template.setdefault("metadata", {})
    dropped = set(_selector_labels(source))
    labels = {k: v for k, v in (metadata.get("labels") or {}).items() if k not in dropped}
    labels[POD_LABEL] = workload.primary
    metadata["labels"] = labels
    return template


def source_template(source: JsonObj) -> JsonObj:
    template: JsonObj = (source.get("spec") or {}).get("template") or {}
    return template


def primary_deployment(
    source: JsonObj, canary: JsonObj, workload: WorkloadRef, *, replicas: int
) -> JsonObj:
    """The primary Deployment `<name>-primary`: the user's Deployment's pod template (see
    `primary_template`), selected by `POD_LABEL` only, with `replicas`, the revision it runs
    as an annotation, and owned by the Canary."""
    spec = copy.deepcopy(source.get("spec") or {})
    for field in ("replicas", "selector", "template", "paused"):
        spec.pop(field, None)
    spec["replicas"] = replicas
    spec["selector"] = {"matchLabels": {POD_LABEL: workload.primary}}
    spec["template"] = primary_template(source, workload)
    source_labels = (source.get("metadata") or {}).get("labels") or {}
    return _owned(
        DEPLOYMENT,
        workload.primary,
        canary,
        spec,
        labels={**source_labels, POD_LABEL: workload.primary},
        annotations={REVISION_ANNOTATION: template_hash(source_template(source))},
    )


def promotion_patch(source: JsonObj, primary: JsonObj, workload: WorkloadRef) -> list[JsonObj]:
    """The JSON patch that copies the user's current template to the primary, with its
    revision annotation; `test`s the primary's resourceVersion so a concurrent change of the
    primary is decided again rather than overwritten. (A JSON patch, not a merge patch: a
    merge patch would keep labels and annotations the user removed from the template.)"""
    meta = primary.get("metadata") or {}
    revision = template_hash(source_template(source))
    ops: list[JsonObj] = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")},
        {"op": "replace", "path": "/spec/template", "value": primary_template(source, workload)},
    ]
    if meta.get("annotations"):
        key = REVISION_ANNOTATION.replace("~", "~0").replace("/", "~1")
        ops.append({"op": "add", "path": f"/metadata/annotations/{key}", "value": revision})
    else:
        ops.append(
            {"op": "add", "path": "/metadata/annotations", "value": {REVISION_ANNOTATION: revision}}
        )
    return ops


def scale_patch(replicas: int) -> JsonObj:
    """The merge patch that sets a Deployment's replicas."""
    return {"spec": {"replicas": replicas}}


def services(source: JsonObj, canary: JsonObj, workload: WorkloadRef) -> tuple[JsonObj, JsonObj]:
    """The Services `<name>-primary` (selects the primary's pods by `POD_LABEL`) and
    `<name>-canary` (selects the user's Deployment's pods by its own selector), both on
    `port` → `targetPort` (default `port`)."""

    def service(name: str, selector: dict[str, str]) -> JsonObj:
        spec = {
            "selector": selector,
            "ports": [
                {
                    "name": "http",
                    "protocol": "TCP",
                    "port": workload.port,
                    "targetPort": workload.target_port or workload.port,
                }
            ],
        }
        return _owned(SERVICE, name, canary, spec, labels={POD_LABEL: name})

    return (
        service(workload.primary, primary_selector(workload)),
        service(workload.canary, _selector_labels(source)),
    )


def service_drift_patch(current: JsonObj, wanted: JsonObj) -> list[JsonObj]:
    """The JSON patch that brings an owned Service's selector and ports back to `wanted` (the
    Deployment was recreated with another selector, or spec.workload's ports changed); empty
    when they match. Guarded by the resourceVersion."""
    spec, want = current.get("spec") or {}, wanted["spec"]
    ops: list[JsonObj] = []
    if spec.get("selector") != want["selector"]:
        ops.append({"op": "add", "path": "/spec/selector", "value": want["selector"]})
    ports = [{k: p.get(k) for k in ("port", "targetPort")} for p in spec.get("ports") or []]
    if ports != [{k: p[k] for k in ("port", "targetPort")} for p in want["ports"]]:
        ops.append({"op": "add", "path": "/spec/ports", "value": want["ports"]})
    if not ops:
        return []
    version = (current.get("metadata") or {}).get("resourceVersion")
    return [{"op": "test", "path": "/metadata/resourceVersion", "value": version}, *ops]


def primary_selector(workload: WorkloadRef) -> dict[str, str]:
    return {POD_LABEL: workload.primary}


def services_ready(
    primary: JsonObj | None, canary: JsonObj | None, source: JsonObj | None, workload: WorkloadRef
) -> bool:
    """Both Services exist and select what the operator needs them to: the primary's pods, and
    the user's Deployment's pods."""
    if primary is None or canary is None or source is None:
        return False
    selected = _selector_labels(source)
    target = workload.target_port or workload.port
    ports_ok = all(
        [(p.get("port"), p.get("targetPort")) for p in (svc.get("spec") or {}).get("ports") or []]
        == [(workload.port, target)]
        for svc in (primary, canary)
    )
    return bool(selected) and ports_ok and (
        (primary.get("spec") or {}).get("selector") == primary_selector(workload)
        and (canary.get("spec") or {}).get("selector") == selected
    )


def primary_autoscaler(hpa: JsonObj, canary: JsonObj, workload: WorkloadRef) -> JsonObj:
    """A copy of the user's HorizontalPodAutoscaler (autoscaling/v2) for the primary: the same
    spec, its `scaleTargetRef` the primary Deployment, owned by the Canary."""
    spec = copy.deepcopy(hpa.get("spec") or {})
    spec["scaleTargetRef"] = {
        "apiVersion": DEPLOYMENT.api_version,
        "kind": DEPLOYMENT.kind,
        "name": workload.primary,
    }
    return _owned(HPA, workload.primary, canary, spec, labels={POD_LABEL: workload.primary})


def autoscaler_drift_patch(current: JsonObj, wanted: JsonObj) -> list[JsonObj]:
    """The JSON patch that brings the primary's HPA copy back to `wanted` (the user's HPA
    changed since it was copied: min/max replicas, metrics, behavior); empty when the specs
    match (both went through the API server's defaulting). Guarded by the resourceVersion."""
    if (current.get("spec") or {}) == wanted["spec"]:
        return []
    version = (current.get("metadata") or {}).get("resourceVersion")
    return [
        {"op": "test", "path": "/metadata/resourceVersion", "value": version},
        {"op": "add", "path": "/spec", "value": wanted["spec"]},
    ]


def autoscaler_in_line(
    hpa: JsonObj | None, copy_: JsonObj | None, canary: JsonObj | None, workload: WorkloadRef
) -> bool:
    """Whether the primary's HPA copy exists with the user's HPA's spec (True without
    `autoscalerRef`, or when the user's HPA cannot be copied: that is a problem of its own)."""
    if workload.autoscaler_ref is None or autoscaler_problem(hpa, workload) or canary is None:
        return True
    assert hpa is not None
    if copy_ is None:
        return False
    return not autoscaler_drift_patch(copy_, primary_autoscaler(hpa, canary, workload))


def autoscaler_problem(hpa: JsonObj | None, workload: WorkloadRef) -> str:
    """Why the named HPA cannot be copied for the primary ("" when it can)."""
    if workload.autoscaler_ref is None:
        return ""
    name = workload.autoscaler_ref.name
    if hpa is None:
        return (
            f"autoscalerRef names HorizontalPodAutoscaler {name}, which does not exist"
            " (autoscaling/v2): create it, or remove autoscalerRef"
        )
    target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    if target.get("kind") != "Deployment" or target.get("name") != workload.name:
        return (
            f"HorizontalPodAutoscaler {name} scales {target.get('kind')}/{target.get('name')},"
            f" not Deployment/{workload.name}: point autoscalerRef at the Deployment's own HPA"
        )
    return ""


def _matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _template_labels(deployment: JsonObj) -> dict[str, str]:
    template = (deployment.get("spec") or {}).get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def selector_problem(source: JsonObj, others: Iterable[JsonObj]) -> str:
    """Why the user's Deployment's selector cannot be used by the canary Service ("" when it
    can): it has no matchLabels, or it overlaps another Deployment of the namespace (the canary
    Service would send canary traffic to that Deployment's pods, or the two Deployments would
    fight over each other's pods)."""
    meta = source.get("metadata") or {}
    selector = _selector_labels(source)
    if not selector:
        return (
            f"Deployment {meta.get('name')} has no spec.selector.matchLabels: the canary Service"
            " selects by them; give the Deployment a matchLabels selector"
        )
    own_labels = _template_labels(source)
    for other in others:
        other_meta = other.get("metadata") or {}
        if other_meta.get("namespace") != meta.get("namespace"):
            continue
        if other_meta.get("name") == meta.get("name"):
            continue
        if _matches(selector, _template_labels(other)) or _matches(
            _selector_labels(other), own_labels
        ):
            name = other_meta.get("name")
            return (
                f"the selector of Deployment {meta.get('name')} ({_spelled(selector)}) overlaps"
                f" Deployment {name} ({_spelled(_selector_labels(other))}): give one of them a"
                " label the other's pods do not carry, and select by it"
            )
    return ""


def _spelled(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no matchLabels"


def owned_by(obj: JsonObj, canary: JsonObj) -> bool:
    uid = canary["metadata"].get("uid")
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("uid") == uid for ref in refs)


def foreign_problem(obj: JsonObj | None, canary: JsonObj) -> str:
    """Why an object at a name the operator owns (`<name>-primary`, `<name>-canary`) is not the
    operator's to write ("" when it is, or does not exist): it is the operator's when it is
    owned by the Canary, or carries `POD_LABEL: <its name>` and no other controller (one this
    operator made and released when an earlier Canary of this name was deleted)."""
    if obj is None or owned_by(obj, canary):
        return ""
    meta = obj.get("metadata") or {}
    name, kind = meta.get("name"), obj.get("kind", "object")
    controllers = [r for r in meta.get("ownerReferences") or [] if r.get("controller")]
    if controllers:
        other = controllers[0]
        return (
            f"{kind} {name} is controlled by {other.get('kind')} {other.get('name')}, not by"
            f" this Canary: delete it or give the workload another name"
        )
    if (meta.get("labels") or {}).get(POD_LABEL) != name:
        return (
            f"{kind} {name} exists and was not made by the operator (no {POD_LABEL}={name}"
            " label): the operator will not take it over; rename or delete it"
        )
    return ""


def adopt_patch(obj: JsonObj, canary: JsonObj) -> list[JsonObj]:
    """The JSON patch that makes the Canary the owner of an object the operator made and
    released (see `foreign_problem`), guarded by the resourceVersion."""
    meta = obj.get("metadata") or {}
    refs = [*(meta.get("ownerReferences") or []), owner_reference(canary)]
    return [
        {"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")},
        {"op": "add", "path": "/metadata/ownerReferences", "value": refs},
    ]


def without_owner_patch(obj: JsonObj, canary: JsonObj) -> list[JsonObj]:
    """The JSON patch that removes the Canary's ownerReference from `obj` (so the garbage
    collector leaves it when the Canary is deleted), guarded by the resourceVersion."""
    uid = canary["metadata"].get("uid")
    meta = obj.get("metadata") or {}
    refs = [r for r in (meta.get("ownerReferences") or []) if r.get("uid") != uid]
    return [
        {"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")},
        {"op": "replace", "path": "/metadata/ownerReferences", "value": refs},
    ]

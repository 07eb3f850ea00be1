"""What the CLI says about a Canary in workload mode (docs/workloads.md). `canary check`: the
Deployment it names, its autoscaler, the objects the operator will own, and exactly what to
change in an existing route: the rule that sends to the user's own Service must send to
`<name>-primary` and `<name>-canary` instead (`rule_patches`, printed by `canary check
--print-patch`). `get` and `watch`: one line on the primary's and the canary's revisions.

Pure: objects as the API server returns them in, findings and JSON patches out.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from canary.api.status import Phase
from canary.api.workload import PRIMARY_SUFFIX, WorkloadRef
from canary.cli.findings import Finding, Severity
from canary.cli.render import age
from canary.cli.snapshot import Snapshot
from canary.kube.resources import JsonObj, Resource
from canary.routers.refs import is_service_ref, ref_namespace

# autoscaling/v2; read by `check` only (the operator's own reads are canary.kube's).
HPA = Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")


def _template_labels(deployment: JsonObj) -> dict[str, str]:
    template = (deployment.get("spec") or {}).get("template") or {}
    return dict((template.get("metadata") or {}).get("labels") or {})


def _selector(service: JsonObj) -> dict[str, str]:
    return dict((service.get("spec") or {}).get("selector") or {})


def _name(obj: JsonObj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def user_services(deployment: JsonObj, services: Sequence[JsonObj], wl: WorkloadRef) -> list[str]:
    """The Services that send to the Deployment's pods: a non-empty selector that its pod
    template's labels match (the operator's own two Services left out)."""
    labels = _template_labels(deployment)
    own = {wl.primary, wl.canary}
    return sorted(
        _name(s)
        for s in services
        if _name(s) not in own
        and _selector(s)
        and all(labels.get(k) == v for k, v in _selector(s).items())
    )


@dataclass(frozen=True)
class RulePatch:
    """One route rule whose backendRefs name the user's Service, and what they become."""

    index: int
    before: list[Any]
    after: list[Any]


def _names_one_of(ref: Any, names: set[str], route_ns: str, ns: str) -> bool:
    return (
        isinstance(ref, dict)
        and is_service_ref(ref)
        and ref.get("name") in names
        and ref_namespace(ref, route_ns) == ns
    )


def rule_patches(route: JsonObj, names: Sequence[str], wl: WorkloadRef, ns: str) -> list[RulePatch]:
    """For every rule with a backendRef to one of `names` (the user's Services): its backendRefs
    with those refs replaced by the primary (weight 100) and the canary (weight 0) on `port`.
    Other backendRefs of the rule, and other fields of the replaced refs (filters), are kept."""
    route_ns = str((route.get("metadata") or {}).get("namespace") or ns)
    wanted = set(names)
    patches = []
    for i, rule in enumerate((route.get("spec") or {}).get("rules") or []):
        refs = list((rule or {}).get("backendRefs") or [])
        if not any(_names_one_of(r, wanted, route_ns, ns) for r in refs):
            continue
        after: list[Any] = []
        replaced = False
        for ref in refs:
            if not _names_one_of(ref, wanted, route_ns, ns):
                after.append(ref)
                continue
            if replaced:
                continue  # a second ref to the user's pods: the two operator refs stand for it
            replaced = True
            kept = {
                k: v
                for k, v in ref.items()
                if k not in ("name", "namespace", "port", "weight", "group", "kind")
            }
            after.append({"name": wl.primary, "port": wl.port, "weight": 100, **kept})
            after.append({"name": wl.canary, "port": wl.port, "weight": 0, **kept})
        patches.append(RulePatch(i, refs, after))
    return patches


def json_patch(patches: Sequence[RulePatch]) -> list[JsonObj]:
    """An RFC 6902 patch: for each rule, a `test` of its backendRefs as read (so that a route
    changed since is refused, not overwritten) and the `replace`."""
    ops: list[JsonObj] = []
    for p in patches:
        path = f"/spec/rules/{p.index}/backendRefs"
        ops.append({"op": "test", "path": path, "value": p.before})
        ops.append({"op": "replace", "path": path, "value": p.after})
    return ops


def patch_command(ns: str, kind: str, route: str, ops: Sequence[JsonObj]) -> str:
    body = json.dumps(list(ops), separators=(",", ":"))
    return f"kubectl -n {ns} patch {kind.lower()} {route} --type=json -p {shlex.quote(body)}"


@dataclass(frozen=True)
class WorkloadWorld:
    """What `check` read about a workload-mode Canary."""

    namespace: str
    canary: str
    """The Canary's name."""
    canary_uid: str
    """"" for a Canary not in the cluster yet (`check -f`)."""
    workload: WorkloadRef
    deployment: JsonObj | None
    services: Sequence[JsonObj]
    deployments: Sequence[JsonObj]
    autoscalers: Sequence[JsonObj]
    route: JsonObj | None
    route_kind: str = "HTTPRoute"
    route_name: str = ""


def _owned_by(obj: JsonObj, world: WorkloadWorld) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(
        r.get("kind") == "Canary"
        and r.get("name") == world.canary
        and (not world.canary_uid or r.get("uid") == world.canary_uid)
        for r in refs
    )


def _scales(hpa: JsonObj, deployment: str) -> bool:
    target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    return bool(target.get("kind") == "Deployment" and target.get("name") == deployment)


def _images(deployment: JsonObj) -> list[str]:
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [str(c.get("image", "")) for c in spec.get("containers") or []]


def deployment_findings(world: WorkloadWorld) -> list[Finding]:
    wl, ns = world.workload, world.namespace
    subject = f"deployment {wl.name}"
    if world.deployment is None:
        return [
            Finding(
                Severity.BLOCKER,
                subject,
                f"Deployment {ns}/{wl.name} (spec.workload.name) does not exist",
                f"create it, or fix spec.workload.name (`kubectl -n {ns} get deployments`)",
            )
        ]
    spec = world.deployment.get("spec") or {}
    replicas = spec.get("replicas", 1)
    found = [
        Finding(
            Severity.OK,
            subject,
            f"exists, {replicas} replica(s), images {', '.join(_images(world.deployment)) or '-'}",
        )
    ]
    ports = [
        p.get("containerPort")
        for c in ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        for p in c.get("ports") or []
    ]
    target = wl.target_port or wl.port
    if ports and target not in ports:
        found.append(
            Finding(
                Severity.WARNING,
                subject,
                f"no container declares port {target} (declared: "
                f"{', '.join(str(p) for p in ports)}): the operator's Services send to {target}",
                "set spec.workload.targetPort to the port the pods listen on",
            )
        )
    found += _autoscaler_findings(world)
    return found


def _autoscaler_findings(world: WorkloadWorld) -> list[Finding]:
    wl, ns = world.workload, world.namespace
    scaling = sorted(_name(h) for h in world.autoscalers if _scales(h, wl.name))
    if wl.autoscaler_ref is None:
        if not scaling:
            return []
        return [
            Finding(
                Severity.WARNING,
                f"hpa {scaling[0]}",
                f"HorizontalPodAutoscaler {ns}/{scaling[0]} scales Deployment {wl.name}, and "
                "spec.workload.autoscalerRef is not set: the primary would not be autoscaled, "
                "and the HPA would fight the operator over the Deployment's replicas",
                f"set spec.workload.autoscalerRef.name: {scaling[0]} (the operator copies it "
                f"for {wl.primary})",
            )
        ]
    ref = wl.autoscaler_ref.name
    hpa = next((h for h in world.autoscalers if _name(h) == ref), None)
    subject = f"hpa {ref}"
    if hpa is None:
        return [
            Finding(
                Severity.BLOCKER,
                subject,
                f"HorizontalPodAutoscaler {ns}/{ref} (spec.workload.autoscalerRef) does not "
                "exist (autoscaling/v2)",
                f"create it, fix spec.workload.autoscalerRef.name, or remove it "
                f"(`kubectl -n {ns} get hpa`)",
            )
        ]
    if not _scales(hpa, wl.name):
        return [
            Finding(
                Severity.BLOCKER,
                subject,
                f"HorizontalPodAutoscaler {ns}/{ref} does not scale Deployment {wl.name}",
                f"name the HPA whose scaleTargetRef is Deployment {wl.name}",
            )
        ]
    return [Finding(Severity.OK, subject, f"scales {wl.name}; copied for {wl.primary}")]


def owned_findings(world: WorkloadWorld) -> list[Finding]:
    """The primary Deployment and the two Services: the operator creates them if absent; one
    that exists and is not this Canary's is used as it is, which is rarely what was meant."""
    wl, ns = world.workload, world.namespace
    found = []
    objects: list[tuple[str, str, Mapping[str, JsonObj]]] = [
        ("deployment", wl.primary, {_name(d): d for d in world.deployments}),
        ("service", wl.primary, {_name(s): s for s in world.services}),
        ("service", wl.canary, {_name(s): s for s in world.services}),
    ]
    for kind, name, by_name in objects:
        obj = by_name.get(name)
        subject = f"{kind} {name}"
        if obj is None:
            found.append(
                Finding(
                    Severity.OK, subject, "absent: the operator creates it on its first reconcile"
                )
            )
        elif not _owned_by(obj, world):
            found.append(
                Finding(
                    Severity.WARNING,
                    subject,
                    f"{ns}/{name} exists and is not owned by Canary {world.canary}: the "
                    "operator takes it as it is",
                    f"delete it (`kubectl -n {ns} delete {kind} {name}`) to let the operator "
                    "create its own, unless it is this Canary's from before",
                )
            )
        elif kind == "service" and wl.port not in [
            p.get("port") for p in (obj.get("spec") or {}).get("ports") or []
        ]:
            found.append(
                Finding(
                    Severity.BLOCKER,
                    subject,
                    f"Service {ns}/{name} has no port {wl.port} (spec.workload.port)",
                    "the operator updates its own Services; check that it runs",
                )
            )
        else:
            found.append(Finding(Severity.OK, subject, "exists, owned by this Canary"))
    return found


def route_migration(world: WorkloadWorld) -> list[RulePatch]:
    """The rules to change so that the route sends to the operator's Services (none if the
    Deployment, its Service or the route cannot be found)."""
    if world.deployment is None or world.route is None:
        return []
    names = user_services(world.deployment, world.services, world.workload)
    return rule_patches(world.route, names, world.workload, world.namespace)


def not_ready_to_patch(world: WorkloadWorld) -> str | None:
    """Why the route must not be patched yet: it would send traffic to a Service or pods that do
    not exist. None once the operator has created the primary and both Services."""
    wl = world.workload
    services = {_name(s) for s in world.services}
    deployments = {_name(d): d for d in world.deployments}
    absent = [f"Service {n}" for n in (wl.primary, wl.canary) if n not in services]
    primary = deployments.get(wl.primary)
    if primary is None:
        absent.insert(0, f"Deployment {wl.primary}")
    elif not (primary.get("status") or {}).get("availableReplicas"):
        return (
            f"Deployment {world.namespace}/{wl.primary} has no available pod yet: patch the "
            "route once it has (`kubectl rollout status deployment/" + wl.primary + "`), or the "
            "route sends to a Service without endpoints"
        )
    if not absent:
        return None
    return (
        f"{', '.join(absent)} {'does' if len(absent) == 1 else 'do'} not exist yet: apply the "
        "Canary and let the operator "
        f"create them (`canary get {world.canary}` then shows a primary revision) before "
        "patching the route, or the route sends to nothing"
    )


def route_migration_findings(world: WorkloadWorld, *, managed: bool) -> list[Finding]:
    """What to change in a route whose managed rule (`managed`: the route already has a rule
    with the two operator Services) does not exist yet."""
    wl, ns = world.workload, world.namespace
    subject = f"route {world.route_name}"
    if managed or world.route is None or world.deployment is None:
        return []
    names = user_services(world.deployment, world.services, world.workload)
    patches = rule_patches(world.route, names, wl, ns)
    want = f"backendRefs {wl.primary}:{wl.port} (weight 100) and {wl.canary}:{wl.port} (weight 0)"
    if not patches:
        via = f" (Service {', '.join(names)} selects its pods)" if names else ""
        return [
            Finding(
                Severity.BLOCKER,
                subject,
                f"no rule sends to Deployment {wl.name}{via}: the managed rule must have {want}",
                f"add them to the rule that should carry the traffic (`kubectl -n {ns} edit "
                f"{world.route_kind.lower()} {world.route_name}`)",
            )
        ]
    return [
        Finding(
            Severity.BLOCKER,
            subject,
            f"rule {p.index} sends to {_refs(p.before)} (Deployment {wl.name}'s pods); in "
            f"workload mode it must send to {want} instead",
            f"once the operator has created {wl.primary} and it is ready, "
            f"`canary check {world.canary} --print-patch` prints the `kubectl patch` that does it",
        )
        for p in patches
    ]


def _refs(refs: Sequence[Any]) -> str:
    return ", ".join(f"{r.get('name')}:{r.get('port')}" for r in refs if isinstance(r, dict))


def workload_findings(world: WorkloadWorld, *, managed: bool) -> list[Finding]:
    return [
        *deployment_findings(world),
        *owned_findings(world),
        *route_migration_findings(world, managed=managed),
    ]


def wl_primary(spec: WorkloadRef | None, name: str) -> str:
    return spec.primary if spec is not None else f"{name}{PRIMARY_SUFFIX}"


def workload_line(snap: Snapshot, now: datetime) -> str | None:
    """One line on the workload of a Canary in workload mode (None otherwise): the Deployment,
    the primary's and the canary's pod template revisions, the canary's images, the replicas
    and what the operator waits for."""
    spec = snap.spec.workload if snap.spec is not None else None
    w = snap.status.workload
    if spec is None and w is None:
        return None
    name = spec.name if spec is not None else "-"
    if w is None:
        return f"Deployment {name}: not observed yet"
    images = ", ".join(w.images) or "-"
    line = (
        f"Deployment {name}: primary {w.primary_revision or '-'}, canary "
        f"{w.canary_revision or '-'} ({images})"
    )
    if w.replicas is not None:
        line += f", {w.replicas} replica(s)"
    if w.waiting_since is not None:
        which = wl_primary(spec, name) if snap.status.phase is Phase.PROMOTING else name
        line += f"; waiting {age(w.waiting_since, now)} for {which} to be ready"
    return line

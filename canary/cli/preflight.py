"""The preflight behind `canary check`: read a Canary's route and its surroundings, its
Services and its metric queries fresh from the cluster and Prometheus, and judge them.

Changes nothing. Uses the router's own diagnosis and the operator's own metric sampler, so
check sees what the operator will see.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from canary.api.analysis import Analysis, MetricGate, MinRequests
from canary.api.conditions import ConditionType
from canary.api.resource import Canary
from canary.api.route import RouteKind
from canary.api.spec import CanarySpec
from canary.cli.findings import Finding, Severity, route_findings, service_findings
from canary.cli.gates import comparison_window, metric_findings, probe_finding
from canary.cli.manifest import Manifest, rendering_findings, validation_findings
from canary.cli.series import series_findings
from canary.cli.snapshot import Snapshot, snapshot
from canary.cli.workload import HPA, WorkloadWorld, workload_findings
from canary.core.observations import ComparisonSample, MetricSample, RouteProblem, SampleOutcome
from canary.core.ownership import owner_of
from canary.kube.client import Kube
from canary.kube.errors import KubeError
from canary.kube.resources import CANARY, DEPLOYMENT, HTTPROUTE, SERVICE, JsonObj, Resource
from canary.providers.queries import (
    Side,
    comparison_variables,
    gate_template,
    gate_variables,
    renderable_only,
)
from canary.providers.sampler import ConfigError, GateSampler
from canary.routers.refs import RouteKey
from canary.routers.surroundings import diagnose
from canary.routers.target import claim_of, route_of, target_of

PROBE = MetricGate(name="reachable", query="vector(1)", min=0)


def status_findings(snap: Snapshot) -> list[Finding]:
    s, found = snap.status, []
    if snap.paused:
        found.append(
            Finding(
                Severity.WARNING,
                "spec.paused",
                "true: nothing moves until resumed",
                f"canary resume {snap.name}",
            )
        )
    if s.observed_generation == 0:
        found.append(
            Finding(
                Severity.WARNING,
                "status",
                "none yet: no operator has reconciled this Canary",
                f"is the operator running and watching namespace {snap.namespace}?",
            )
        )
    invalid = s.condition(ConditionType.INVALID_SPEC)
    if invalid is not None and invalid.status == "True":
        found.append(
            Finding(
                Severity.BLOCKER,
                "status",
                f"the operator reports InvalidSpec ({invalid.reason}): {invalid.message}",
                "fix the spec",
            )
        )
    in_sync = s.condition(ConditionType.WEIGHTS_IN_SYNC)
    if in_sync is not None and in_sync.status == "False":
        hints = {
            "OwnedByAnotherCanary": "delete one of the two Canaries, or name other backends",
            "ContestedByFieldManager": "stop the other writer, or take the weights back with "
            f"`canary retry {snap.name}`",
        }
        severity = Severity.BLOCKER if in_sync.reason in hints else Severity.WARNING
        hint = hints.get(in_sync.reason, "put the weights back in the route's source")
        found.append(
            Finding(severity, "status", f"WeightsInSync=False ({in_sync.reason}): "
                    f"{in_sync.message}", hint)
        )
    return found


async def ownership_findings(kube: Kube, canary: Canary) -> list[Finding]:
    """Another Canary in the cluster that owns (or would own) the weights this one names."""
    ns, name = canary.metadata.namespace, canary.metadata.name
    others, _ = await kube.list(CANARY, ns)
    mine = next((o for o in others if o["metadata"]["name"] == name), None)
    # A Canary not created yet would be the newest claim on the route.
    me = claim_of(mine or {"metadata": {"name": name, "creationTimestamp": "~"},
                           "spec": canary.spec.to_api()})
    route = RouteKey(ns, canary.spec.route_ref.name, str(canary.spec.route_ref.kind))
    rivals = [claim_of(o) for o in others if route_of(o) == route]
    owner = owner_of(me, rivals)
    if owner is None:
        return []
    return [
        Finding(
            Severity.BLOCKER,
            "spec.routeRef",
            f"Canary {owner} already owns the weights of {canary.spec.route_ref.name} for a "
            f"backend this Canary names: this one would write nothing while {owner} exists",
            f"delete Canary {owner} first, or name other backends",
        )
    ]


def in_cluster(obj: JsonObj) -> Manifest:
    snap = snapshot(obj)
    try:
        canary = Canary.model_validate(obj)
    except ValidationError as exc:
        return Manifest(snap.key, "in the cluster", None, tuple(validation_findings(exc)))
    found = (*rendering_findings(canary), *status_findings(snap))
    return Manifest(snap.key, "in the cluster", canary, found)


async def _metrics(
    kube: Kube, canary: Canary, prometheus: str | None, weight: int | None
) -> list[Finding]:
    ns, name, spec = canary.metadata.namespace, canary.metadata.name, canary.spec
    analysis = spec.analysis
    if analysis is None or not (analysis.metrics or analysis.min_requests):
        return [Finding(Severity.OK, "analysis", "no metric gates: steps advance on time")]
    address = analysis.prometheus.address or prometheus
    if address is None:
        return [
            Finding(
                Severity.WARNING,
                "prometheus",
                "not checked: the Canary uses the operator's default Prometheus",
                "pass --prometheus URL (the "
                "operator's --prometheus address) to check the queries too",
            )
        ]
    # A gate that cannot be rendered is a blocker already (`rendering_findings`); run the rest.
    spec = renderable_only(spec, namespace=ns, name=name)
    analysis = spec.analysis
    if analysis is None or not (analysis.metrics or analysis.min_requests):
        return []
    sampler = GateSampler(kube, default_address=address)
    try:
        probe = analysis.model_copy(update={"metrics": (PROBE,), "min_requests": None})
        (reached,), _ = await sampler.sample(ns, name, spec.model_copy(update={"analysis": probe}))
        found = probe_finding(address, reached)
        if found.severity is Severity.BLOCKER:
            return [found]
        samples, guard = await sampler.sample(ns, name, spec)
        now = datetime.now(UTC)
        steps, window = comparison_window(canary, now)
        compared = await sampler.compare(ns, name, spec, steps=steps, now=now)
        absent = await _absent_series(sampler, canary, spec, samples, guard, weight)
        absent += await _absent_compared(sampler, canary, spec, compared, weight, now - steps[0])
        findings = metric_findings(
            analysis, samples, guard, canary_weight=weight, comparisons=compared, window=window
        )
        return [found, *findings, *absent]
    finally:
        await sampler.aclose()


async def _absent_series(
    sampler: GateSampler,
    canary: Canary,
    spec: CanarySpec,
    samples: Sequence[MetricSample],
    guard: MetricSample | None,
    weight: int | None,
) -> list[Finding]:
    """For each gate with no data: the series its query selects by the Canary's values that
    do not exist, and the ones that do (`canary.cli.series`)."""
    ns, name, analysis = canary.metadata.namespace, canary.metadata.name, spec.analysis
    if analysis is None:
        return []
    thresholds = [g for g in analysis.metrics if g.compare is None]
    gates: list[tuple[str, MetricGate | MinRequests, MetricSample]] = [
        (f"metric {g.name}", g, s) for g, s in zip(thresholds, samples, strict=True)
    ]
    if analysis.min_requests is not None and guard is not None:
        gates.append(("minRequests", analysis.min_requests, guard))
    quiet = [(subject, gate) for subject, gate, s in gates if s.outcome is SampleOutcome.NO_DATA]
    if not quiet:
        return []
    lookups = (
        (
            subject,
            gate_variables(gate, spec, namespace=ns, name=name).as_mapping(),
            gate,
            not weight,
        )
        for subject, gate in quiet
    )
    return await _series_of(sampler, ns, analysis, lookups)


async def _absent_compared(
    sampler: GateSampler,
    canary: Canary,
    spec: CanarySpec,
    compared: Sequence[ComparisonSample],
    weight: int | None,
    window: timedelta,
) -> list[Finding]:
    """For each comparison with no data: the series its queries select, for either backend,
    that do not exist (and the ones that do), as for a threshold gate's."""
    ns, name, analysis = canary.metadata.namespace, canary.metadata.name, spec.analysis
    if analysis is None:
        return []
    quiet = [
        g for g, s in zip(analysis.comparisons, compared, strict=True)
        if s.outcome is SampleOutcome.NO_DATA
    ]
    if not quiet:
        return []
    lookups = (
        (
            f"metric {gate.name} ({side})",
            comparison_variables(
                gate, spec, namespace=ns, name=name, window=window, side=side
            ).as_mapping(),
            gate,
            side is Side.CANARY and not weight,
        )
        for gate in quiet
        for side in Side
    )
    return await _series_of(sampler, ns, analysis, lookups)


async def _series_of(
    sampler: GateSampler,
    ns: str,
    analysis: Analysis,
    lookups: Iterable[tuple[str, Mapping[str, str], MetricGate | MinRequests, bool]],
) -> list[Finding]:
    """The series findings of quiet gates, each `(subject, variables, gate, quiet)`, with the
    analysis' provider; none when it cannot be had. `lookups` is consumed one at a time, after
    the provider is found."""
    try:
        provider = await sampler.provider_for(ns, analysis)
    except ConfigError:
        return []  # every gate already says why
    found: list[Finding] = []
    for subject, variables, gate, quiet in lookups:
        found += await series_findings(
            provider, subject, gate_template(gate), variables, quiet=quiet
        )
    return found


async def _list_or_none(kube: Kube, res: Resource, ns: str) -> list[JsonObj] | None:
    try:
        items, _ = await kube.list(res, ns)
    except KubeError:
        return None
    return items


async def read_workload(kube: Kube, canary: Canary, uid: str = "") -> WorkloadWorld | None:
    """What workload mode needs to know about the cluster; None in two-Services mode."""
    ns, spec = canary.metadata.namespace, canary.spec
    wl = spec.workload
    if wl is None:
        return None
    services, _ = await kube.list(SERVICE, ns)
    deployments, _ = await kube.list(DEPLOYMENT, ns)
    route = await kube.get_or_none(HTTPROUTE, spec.route_ref.name, ns)
    return WorkloadWorld(
        namespace=ns,
        canary=canary.metadata.name,
        canary_uid=uid,
        workload=wl,
        deployment=next((d for d in deployments if d["metadata"]["name"] == wl.name), None),
        services=services,
        deployments=deployments,
        autoscalers=await _list_or_none(kube, HPA, ns) or [],
        route=route,
        route_kind=str(spec.route_ref.kind),
        route_name=spec.route_ref.name,
    )


def _before_the_operator(found: list[Finding], world: WorkloadWorld) -> list[Finding]:
    """Route findings about the operator's own Services before it created them are no
    blockers: it creates them on its first reconcile. A generic "no managed rule" gives way to
    the migration findings, which say exactly what to change (as `BackendsNotInRoute` does in
    `check_canary`)."""
    names = {str(s["metadata"]["name"]) for s in world.services}
    absent = [n for n in (world.workload.primary, world.workload.canary) if n not in names]
    kept = []
    for f in found:
        if f.message == "no managed rule found":
            continue
        if f.severity is Severity.BLOCKER and absent and "BackendNotFound" in f.message:
            f = Finding(
                Severity.WARNING,
                f.subject,
                f.message,
                f"Service {', '.join(absent)} is the operator's: it creates it on its first "
                "reconcile",
            )
        kept.append(f)
    return kept


async def check_canary(
    kube: Kube, canary: Canary, *, prometheus: str | None, uid: str = ""
) -> list[Finding]:
    """Every finding about one Canary, read fresh from the cluster; changes nothing."""
    ns, spec = canary.metadata.namespace, canary.spec
    found: list[Finding] = []
    weight: int | None = None
    world = await read_workload(kube, canary, uid)
    managed = False
    if spec.route_ref.kind is not RouteKind.HTTP_ROUTE:
        found.append(
            Finding(
                Severity.BLOCKER,
                "spec.routeRef.kind",
                f"{spec.route_ref.kind} is not supported by this operator yet",
                "use an HTTPRoute",
            )
        )
    else:
        try:
            target = target_of(ns, spec)
        except ValueError as exc:
            return [Finding(Severity.BLOCKER, "spec.canary", str(exc), "name two Services")]
        route = await kube.get_or_none(HTTPROUTE, spec.route_ref.name, ns)
        observed = await diagnose(kube, target, route)
        weight = observed.canary_weight if observed.rules else 0
        managed = bool(observed.rules)
        if world is not None and world.deployment is not None and world.route is not None:
            # The migration findings say exactly what to change instead.
            issues = tuple(
                i for i in observed.issues if i.problem is not RouteProblem.BACKENDS_NOT_IN_ROUTE
            )
            observed = dataclasses.replace(observed, issues=issues)
        found += route_findings(observed, namespace=ns, route=spec.route_ref.name)
    if world is not None:
        found = _before_the_operator(found, world)
        found += workload_findings(world, managed=managed)
    else:
        services = {
            (b.namespace or ns, b.name): await kube.get_or_none(SERVICE, b.name, b.namespace or ns)
            for b in (spec.stable, spec.canary)
        }
        found += service_findings(ns, spec, services)
    found += await ownership_findings(kube, canary)
    return found + await _metrics(kube, canary, prometheus, weight)

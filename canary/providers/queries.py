"""A Canary's gate queries as the sampler runs them, and the ones that can never be rendered.

Every value a query may use comes from the Canary itself — its namespace and name (immutable),
its route, backends and windows (fixed for a generation) — so rendering it once with those values
says whether every check would render it. A query that cannot be rendered now never will: the
operator rejects such a spec (`InvalidSpec`) before any traffic moves, and `canary check` reports
it. Pure; uses the one renderer, `canary.providers.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from canary.api.analysis import MetricGate, MinRequests
from canary.api.duration import parse_duration
from canary.api.spec import CanarySpec
from canary.providers.render import render
from canary.providers.templates import COMPARISON_QUERIES, builtin_query
from canary.providers.variables import QueryVariables


def prometheus_duration(window: timedelta) -> str:
    """A window as Prometheus reads it, in whole seconds (at least 1s)."""
    return f"{max(1, int(window.total_seconds()))}s"


def gate_variables(
    gate: MetricGate | MinRequests, spec: CanarySpec, *, namespace: str, name: str
) -> QueryVariables:
    """The values `gate`'s query is rendered with: the gate's window, else the step interval."""
    window = spec.steps.interval_length if gate.interval is None else parse_duration(gate.interval)
    return QueryVariables(
        namespace=namespace,
        canary=name,
        route=spec.route_ref.name,
        stable_service=spec.stable.name,
        stable_port=spec.stable.port,
        canary_service=spec.canary.name,
        canary_port=spec.canary.port,
        stable_namespace=spec.stable.namespace or namespace,
        canary_namespace=spec.canary.namespace or namespace,
        interval=prometheus_duration(window),
    )


class Side(StrEnum):
    """The backend a comparison's query is rendered for."""

    CANARY = "canary"
    STABLE = "stable"


def comparison_templates(gate: MetricGate) -> dict[str, str]:
    """A comparison gate's query templates by part (`requests` and `errors`, or `buckets`),
    inline or from its built-in family."""
    compare = gate.compare
    if compare is None:
        raise ValueError(f"gate {gate.name} is not a comparison")
    if compare.error_rate is not None:
        errors = compare.error_rate
        if errors.template is not None:
            family = COMPARISON_QUERIES[errors.template]
            return {"requests": family["requests"], "errors": family["errors"]}
        return {"requests": str(errors.requests), "errors": str(errors.errors)}
    latency = compare.latency
    assert latency is not None
    if latency.template is not None:
        return {"buckets": COMPARISON_QUERIES[latency.template]["buckets"]}
    return {"buckets": str(latency.buckets)}


def comparison_variables(
    gate: MetricGate,
    spec: CanarySpec,
    *,
    namespace: str,
    name: str,
    window: timedelta,
    side: Side,
) -> QueryVariables:
    """The values a comparison's queries are rendered with for one backend, over `window`: the
    Canary's, or with the `canary_*` variables set to the stable backend."""
    variables = replace(
        gate_variables(gate, spec, namespace=namespace, name=name),
        interval=prometheus_duration(window),
    )
    if side is Side.STABLE:
        variables = replace(
            variables,
            canary_service=variables.stable_service,
            canary_port=variables.stable_port,
            canary_namespace=variables.stable_namespace,
        )
    return variables


def render_comparison(
    gate: MetricGate,
    spec: CanarySpec,
    *,
    namespace: str,
    name: str,
    window: timedelta,
    side: Side,
) -> dict[str, str]:
    """The PromQL of each part of a comparison over `window`, for one backend: as written for
    the canary, or with the `canary_*` variables set to the stable backend (the same query for
    both). Raises `TemplateError` like `render_gate`."""
    variables = comparison_variables(
        gate, spec, namespace=namespace, name=name, window=window, side=side
    )
    mapping = variables.as_mapping()
    return {part: render(text, mapping) for part, text in comparison_templates(gate).items()}


def gate_template(gate: MetricGate | MinRequests) -> str:
    """The query template of `gate`: its inline query or its built-in's (`KeyError` when the
    built-in is unknown); a comparison's templates, one a line (`comparison_templates` has them
    by part)."""
    if isinstance(gate, MetricGate) and gate.compare is not None:
        return "\n".join(comparison_templates(gate).values())
    return gate.query if gate.query is not None else builtin_query(str(gate.template))


def render_gate(
    gate: MetricGate | MinRequests, spec: CanarySpec, *, namespace: str, name: str
) -> str:
    """The PromQL a check runs for `gate`. Raises `TemplateError` (a `ValueError`) when the
    query cannot be rendered, `KeyError` for an unknown built-in template; a comparison has a
    query per backend and part (`render_comparison`), not one."""
    if isinstance(gate, MetricGate) and gate.compare is not None:
        raise ValueError(f"gate {gate.name} is a comparison: render_comparison renders it")
    variables = gate_variables(gate, spec, namespace=namespace, name=name)
    return render(gate_template(gate), variables.as_mapping())


_GUARD_FIELD = "analysis.minRequests"


def _field(index: int) -> str:
    return f"analysis.metrics[{index}]"


@dataclass(frozen=True)
class QueryProblem:
    """A gate whose query can never be rendered, and the renderer's reason (which says what to
    write instead)."""

    field: str
    """Where the gate is in the spec: `analysis.metrics[2]` or `analysis.minRequests`."""
    gate: str | None
    """The gate's name; None for the traffic guard."""
    reason: str

    def __str__(self) -> str:
        where = self.field if self.gate is None else f"{self.field} ({self.gate})"
        return f"{where}: the query cannot be rendered: {self.reason.rstrip('.')}"


def unrenderable_queries(spec: CanarySpec, *, namespace: str, name: str) -> list[QueryProblem]:
    """Every gate of `spec` (and its traffic guard) whose query cannot be rendered for the Canary
    `namespace/name`, in spec order; empty when every check can run its queries."""
    analysis = spec.analysis
    if analysis is None:
        return []
    gates: list[tuple[str, str | None, MetricGate | MinRequests]] = [
        (_field(i), gate.name, gate) for i, gate in enumerate(analysis.metrics)
    ]
    if analysis.min_requests is not None:
        gates.append((_GUARD_FIELD, None, analysis.min_requests))
    problems = []
    for field, gate_name, gate in gates:
        try:
            if isinstance(gate, MetricGate) and gate.compare is not None:
                for side in Side:
                    render_comparison(
                        gate, spec, namespace=namespace, name=name,
                        window=spec.steps.interval_length, side=side,
                    )
                continue
            render_gate(gate, spec, namespace=namespace, name=name)
        except KeyError as exc:
            problems.append(QueryProblem(field, gate_name, str(exc.args[0])))
        except ValueError as exc:  # TemplateError, or a value QueryVariables refuses
            problems.append(QueryProblem(field, gate_name, str(exc)))
    return problems


def renderable_only(spec: CanarySpec, *, namespace: str, name: str) -> CanarySpec:
    """`spec` without the gates (and traffic guard) whose query cannot be rendered."""
    analysis = spec.analysis
    if analysis is None:
        return spec
    broken = {p.field for p in unrenderable_queries(spec, namespace=namespace, name=name)}
    if not broken:
        return spec
    metrics = tuple(g for i, g in enumerate(analysis.metrics) if _field(i) not in broken)
    guard = None if _GUARD_FIELD in broken else analysis.min_requests
    kept = analysis.model_copy(update={"metrics": metrics, "min_requests": guard})
    return spec.model_copy(update={"analysis": kept})

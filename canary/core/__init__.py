"""The pure core of the operator: the rollout state machine (`decide`), step weight arithmetic,
metric verdicts and conditions. docs/state-machine.md describes what it decides.

No await, no clock, no logging, no I/O: everything comes in as arguments, everything goes out
as the returned `Decision`.
"""

from canary.core.decide import decide, needs_metrics, reject_spec
from canary.core.decision import Action, Decision, EmitEvent, EventReason, RewriteRoute, SetWeights
from canary.core.observations import (
    MetricSample,
    Observations,
    RouteIssue,
    RouteObservation,
    RouteProblem,
    RuleWeights,
    SampleOutcome,
)

__all__ = [
    "Action",
    "Decision",
    "EmitEvent",
    "EventReason",
    "MetricSample",
    "Observations",
    "RewriteRoute",
    "RouteIssue",
    "RouteObservation",
    "RouteProblem",
    "RuleWeights",
    "SampleOutcome",
    "SetWeights",
    "decide",
    "needs_metrics",
    "reject_spec",
]

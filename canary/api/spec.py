"""The desired state of a Canary: what to shift, how, under which gates, and the manual controls.

`CanarySpec` is what users write; the CRD schema and the reference docs are generated from it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from canary.api.analysis import Analysis
from canary.api.control import Promotion, Requests
from canary.api.model import ApiModel, Rule
from canary.api.route import BackendRef, RouteRef
from canary.api.steps import Steps
from canary.api.workload import WorkloadRef

_BACKENDS = (
    "set both spec.stable and spec.canary, or spec.workload instead (workload mode derives "
    "them: <name>-primary, <name>-canary)"
)


def _no_schema_requirement(*names: str) -> Any:
    """Leave `names` out of the schema's `required` (workload mode derives them), keeping the
    CEL rules every model gets."""

    def extra(schema: dict[str, Any], cls: type[Any]) -> None:
        rules = [rule.as_validation() for rule in cls.cel_rules]
        if rules:
            schema["x-kubernetes-validations"] = rules
        schema["required"] = [n for n in schema.get("required", []) if n not in names]

    return extra


class CanarySpec(ApiModel):
    """A progressive rollout from the `stable` to the `canary` backend of an existing route, or
    (workload mode) of a Deployment's new pod template."""

    model_config = {**ApiModel.model_config, "json_schema_extra": _no_schema_requirement(
        "stable", "canary"
    )}

    cel_rules = (
        Rule(
            "has(self.workload) ? !has(self.stable) && !has(self.canary) : "
            "has(self.stable) && has(self.canary)",
            _BACKENDS,
            lambda s: True,  # checked before parsing (`_derive_backends`): they are filled in
        ),
        Rule(
            "!has(self.stable) || !has(self.canary) || self.stable.name != self.canary.name || "
            "(has(self.stable.__namespace__) ? self.stable.__namespace__ : '') != "
            "(has(self.canary.__namespace__) ? self.canary.__namespace__ : '')",
            "stable and canary must be different Services",
            lambda s: (s.stable.name, s.stable.namespace) != (s.canary.name, s.canary.namespace),
        ),
    )

    route_ref: RouteRef
    """The route whose backendRef weights are shifted."""

    workload: WorkloadRef | None = None
    """Workload mode: the Deployment to release (docs/workloads.md). The operator owns its
    primary copy and the Services `stable` and `canary` then name. Excludes `stable` and
    `canary`."""

    stable: BackendRef
    """The backend serving today's version; it gets 100 % - the canary weight."""

    canary: BackendRef
    """The backend serving the new version. Changing it starts a new rollout."""

    steps: Steps
    """The traffic schedule and the time each step lasts."""

    analysis: Analysis | None = None
    """Metric gates checked at the end of every step. Absent: steps advance on time alone."""

    promotion: Promotion = Field(default_factory=Promotion)
    """What happens once every step has passed."""

    revision: str | None = Field(default=None, min_length=1, max_length=128)
    """An identity for what is being rolled out (an image tag, a commit). Changing it, or the
    canary backend, starts a new rollout. `status.revision` reports it back so a pipeline can
    wait for the result of its own revision."""

    paused: bool = False
    """Hands off: while true the operator changes nothing on the route and starts nothing, not
    even a new revision; only an abort request acts. Metric checks are suspended."""

    requests: Requests = Field(default_factory=Requests)
    """One-shot manual requests: promote, promoteFull, abort, retry (see the contract)."""

    @model_validator(mode="before")
    @classmethod
    def _derive_backends(cls, data: Any) -> Any:
        """Workload mode: `stable` and `canary` are the operator's two Services."""
        if not isinstance(data, dict) or data.get("workload") is None:
            return data
        if data.get("stable") is not None or data.get("canary") is not None:
            raise ValueError(_BACKENDS)
        workload = data["workload"]
        if isinstance(workload, dict):
            workload = WorkloadRef.model_validate(workload)
        if not isinstance(workload, WorkloadRef):
            return data
        stable, canary = workload.backends()
        return {**data, "stable": stable, "canary": canary}

    @model_serializer(mode="wrap")
    def _without_derived(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Workload mode: `stable` and `canary` are derived, never written back."""
        data: dict[str, Any] = handler(self)
        if self.workload is not None:
            data = {k: v for k, v in data.items() if k not in ("stable", "canary")}
        return data

    @property
    def target_revision(self) -> str:
        """The revision this spec asks for: `revision`, else the canary backend `name:port`."""
        return self.revision if self.revision is not None else str(self.canary)

"""The desired state of a Canary: what to shift, how, under which gates, and the manual controls.

`CanarySpec` is what users write; the CRD schema and the reference docs are generated from it.
"""

from __future__ import annotations

from pydantic import Field

from canary.api.analysis import Analysis
from canary.api.control import Promotion, Requests
from canary.api.model import ApiModel, Rule
from canary.api.route import BackendRef, RouteRef
from canary.api.steps import Steps


class CanarySpec(ApiModel):
    """A progressive rollout from the `stable` to the `canary` backend of an existing route."""

    cel_rules = (
        Rule(
            "self.stable.name != self.canary.name || "
            "(has(self.stable.__namespace__) ? self.stable.__namespace__ : '') != "
            "(has(self.canary.__namespace__) ? self.canary.__namespace__ : '')",
            "stable and canary must be different Services",
            lambda s: (s.stable.name, s.stable.namespace) != (s.canary.name, s.canary.namespace),
        ),
    )

    route_ref: RouteRef
    """The route whose backendRef weights are shifted."""

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

    @property
    def target_revision(self) -> str:
        """The revision this spec asks for: `revision`, else the canary backend `name:port`."""
        return self.revision if self.revision is not None else str(self.canary)

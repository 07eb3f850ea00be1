"""What promotion does, and the manual controls (pause, promote, abort, retry) that pipelines
and the CLI drive through the spec, so RBAC and audit apply to them as to any edit.

Declarations only; how a request acts is decided in `canary.core.requests`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from canary.api.model import ApiModel

Nonce = Annotated[str, Field(min_length=1, max_length=128)]


class PromotionMode(StrEnum):
    """What the operator leaves on the route once every step has passed."""

    WEIGHTS = "Weights"
    REWRITE = "Rewrite"


class Promotion(ApiModel):
    """What promotion does. Rollback always puts 100 % on the stable backend at once."""

    mode: PromotionMode = PromotionMode.WEIGHTS
    """`Weights`: leave 100 % on the canary backendRef and 0 % on the stable one. `Rewrite`:
    then rewrite the managed rules so the canary backend is their only backendRef (the canary
    becomes the new stable; update `spec.stable` before the next rollout)."""

    restart_from_stable: bool = False
    """After a `Weights` promotion the canary backend carries 100 %. A new revision that names
    the same two backends would start again from the stable backend (its first step sends most
    traffic back to the old version), so it is refused (`InvalidSpec`, reason
    `SameBackendsAfterPromotion`) unless this is true."""


class RequestKind(StrEnum):
    """The manual requests, in the order they are handled when several are new at once."""

    ABORT = "abort"
    RETRY = "retry"
    PROMOTE_FULL = "promoteFull"
    PROMOTE = "promote"

    def value_in(self, model: ApiModel) -> str | None:
        """This request's field in `model` (`Requests` or `status.handledRequests`)."""
        value = getattr(model, _FIELDS.get(self, self.value))
        return None if value is None else str(value)


_FIELDS = {RequestKind.PROMOTE_FULL: "promote_full"}  # the other fields are named as the kinds


class Requests(ApiModel):
    """One-shot manual requests. A request is made by setting its field to a new value (a
    nonce: a timestamp or UUID), e.g. `kubectl patch canary NAME --type=merge -p
    '{"spec":{"requests":{"promote":"2024-05-01T12:00:00Z"}}}'`. The operator acts on each new
    value exactly once and records it in `status.handledRequests`; setting the same value again
    does nothing. Values present when the Canary is created are recorded without acting."""

    promote: Nonce | None = None
    """Finish the current step (or pause) now and move to the next step, skipping the rest of
    its interval and its check; from the last step, promote."""

    promote_full: Nonce | None = None
    """Skip every remaining step and check and promote now (100 % to the canary)."""

    abort: Nonce | None = None
    """Roll back now: 100 % to the stable backend, phase `RolledBack` with reason `Aborted`."""

    retry: Nonce | None = None
    """Start a rolled-back rollout again from the first step, same revision, counters
    cleared."""

    def get(self, kind: RequestKind) -> str | None:
        return kind.value_in(self)

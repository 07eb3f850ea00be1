"""The manual-control contract as patches: a new nonce in `spec.requests` for promote,
promoteFull, abort and retry, `spec.paused` for pause and resume — and what the operator will
do with a request in the Canary's current phase.

Pure: builds patches and advice; sending them is `control`'s job.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from canary.api.control import RequestKind
from canary.api.status import Phase
from canary.cli.snapshot import Snapshot

WHAT = {
    RequestKind.PROMOTE: "finish the current step (or pause) now and move to the next step",
    RequestKind.PROMOTE_FULL: "skip every remaining step and check and promote now",
    RequestKind.ABORT: "roll back now: 100 % to the stable backend",
    RequestKind.RETRY: "start the rolled-back rollout again from the first step",
}


def nonce(now: datetime) -> str:
    """A request value that is new every time: the time, plus a random suffix."""
    return f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')}-{secrets.token_hex(3)}"


def request_patch(kind: RequestKind, value: str) -> dict[str, Any]:
    return {"spec": {"requests": {str(kind): value}}}


def pause_patch(paused: bool) -> dict[str, Any]:
    return {"spec": {"paused": paused}}


def advice(kind: RequestKind, snap: Snapshot) -> str | None:
    """Why the operator may not act on `kind` now (it records and ignores, or holds it)."""
    phase, s = snap.status.phase, snap.status
    if snap.paused and kind is not RequestKind.ABORT:
        return f"spec.paused is true: the {kind} request waits until `canary resume {snap.name}`"
    if kind is RequestKind.ABORT and not phase.active:
        return f"the rollout is already finished ({phase}): the abort will be ignored"
    if kind is RequestKind.RETRY and phase is not Phase.ROLLED_BACK:
        return f"only a rolled-back rollout can be retried (phase {phase}): it will be ignored"
    if kind in (RequestKind.PROMOTE, RequestKind.PROMOTE_FULL):
        if phase is Phase.PENDING:
            return "the rollout has not started yet: the request waits until it has"
        if phase not in (Phase.PROGRESSING, Phase.PAUSED):
            return f"nothing to promote in phase {phase}: the request will be ignored"
    if s.observed_generation == 0:
        return "the Canary has no status yet: is the operator running?"
    return None

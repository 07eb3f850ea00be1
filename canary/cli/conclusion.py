"""What `wait` (and `watch`) conclude from one look at a Canary: done with which exit code, or
keep waiting and why.

Pure: a snapshot and the target in, a conclusion out. A pipeline must never take the previous
rollout's result for its own, so a final phase counts only when the status was computed from
at least the generation seen when the wait began and is about the revision waited for.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from canary.api.conditions import ConditionType
from canary.api.status import Phase
from canary.cli.exitcodes import ExitCode
from canary.cli.snapshot import Snapshot

MESSAGE_LIMIT = 300


class WaitFor(StrEnum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled-back"
    FINISHED = "finished"


@dataclass(frozen=True)
class Target:
    want: WaitFor
    revision: str | None
    """The revision the pipeline rolls out; None: whatever the spec asks for."""
    min_generation: int
    """`metadata.generation` when the wait began; older statuses are stale."""


@dataclass(frozen=True)
class Conclusion:
    code: ExitCode | None
    """None: keep waiting."""
    message: str

    @property
    def done(self) -> bool:
        return self.code is not None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def describe(snap: Snapshot) -> str:
    """One line on where an unfinished rollout stands."""
    s = snap.status
    where = f"step {s.current_step}/{s.total_steps}, canary {s.canary_weight}%"
    if s.phase is Phase.PAUSED:
        paused = s.condition(ConditionType.PAUSED)
        if snap.paused or (paused and paused.reason == "PausedBySpec"):
            how = f"by spec.paused, not finished: resume with `canary resume {snap.name}`"
        elif paused and paused.reason == "AwaitingPromotion":
            how = f"until promoted by hand: `canary promote {snap.name}`"
        else:
            how = "in a timed pause step; checks go on"
        line = f"Paused ({how}); {where}"
    else:
        line = f"{s.phase}: {where}"
    line += f", revision {s.revision or '-'}"
    return line + (f" — {_short(s.message)}" if s.message else "")


def _final(snap: Snapshot, want: WaitFor) -> Conclusion:
    s, rev = snap.status, snap.status.revision
    if s.phase is Phase.SUCCEEDED:
        if want is WaitFor.ROLLED_BACK:
            return Conclusion(ExitCode.FAILED, f"revision {rev} was promoted, not rolled back")
        return Conclusion(ExitCode.OK, f"revision {rev} promoted")
    if s.phase is Phase.ROLLED_BACK:
        rolled = s.condition(ConditionType.ROLLED_BACK)
        why = f" ({rolled.reason}): {_short(rolled.message)}" if rolled else ""
        code = ExitCode.FAILED if want is WaitFor.PROMOTED else ExitCode.OK
        return Conclusion(code, f"revision {rev} rolled back{why}")
    code = ExitCode.OK if want is WaitFor.FINISHED else ExitCode.FAILED
    return Conclusion(
        code, f"revision {rev} failed: the operator cannot carry out the spec: {_short(s.message)}"
    )


def judge(snap: Snapshot | None, target: Target) -> Conclusion:
    """The conclusion on one observation of the Canary (None: it does not exist)."""
    if snap is None:
        return Conclusion(ExitCode.NOT_FOUND, "the Canary does not exist (or was deleted)")
    wanted = target.revision or snap.target_revision
    if target.revision is not None and snap.target_revision != target.revision:
        return Conclusion(
            ExitCode.FAILED,
            f"the Canary asks for revision {snap.target_revision}, not {target.revision}: a "
            f"newer rollout replaced it, or the Canary was never updated to {target.revision}",
        )
    s = snap.status
    if s.observed_generation < target.min_generation:
        hint = " (no status yet: is the operator running?)" if s.observed_generation == 0 else ""
        return Conclusion(
            None,
            f"waiting for the operator to observe generation {target.min_generation} "
            f"(status is from generation {s.observed_generation}){hint}",
        )
    invalid = s.condition(ConditionType.INVALID_SPEC)
    if invalid is not None and invalid.status == "True" and s.revision != wanted:
        return Conclusion(
            ExitCode.FAILED,
            f"revision {wanted} will not start: the operator reports InvalidSpec "
            f"({invalid.reason}): {_short(invalid.message)}",
        )
    if s.revision != wanted:
        held = " spec.paused is true: it starts only after `canary resume`." if snap.paused else ""
        return Conclusion(
            None,
            f"status is about revision {s.revision or '-'}; revision {wanted} has not "
            f"started yet.{held}",
        )
    if s.phase.active:
        return Conclusion(None, describe(snap))
    return _final(snap, target.want)

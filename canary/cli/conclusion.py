"""What `wait` (and `watch`) conclude from one look at a Canary: done with which exit code, or
keep waiting and why.

Pure: a snapshot and the target in, a conclusion out. A pipeline must never take the previous
rollout's result for its own, so a final phase counts only when the status was computed from
at least the generation seen when the wait began and is about the revision waited for.

In workload mode (`spec.workload`) the spec does not change between releases: the revision is
the Deployment's pod template, reported in `status.workload`. There a final phase counts only
for the rollout whose images contain `--image` (or whose revision is `--revision`); once that
rollout has been seen, the wait is locked to its revision (`lock`), and another revision in
the status means a newer template replaced it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from canary.api.conditions import Condition, ConditionType
from canary.api.status import CanaryStatus, Phase
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
    image: str | None = None
    """Workload mode: wait for the rollout whose images contain this one (`--image`)."""
    locked: bool = False
    """Workload mode: the rollout waited for has been seen, and `revision` is its pod template
    hash; any other revision in the status replaced it."""


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
    w = s.workload
    if w is not None and w.images:
        line += f" ({', '.join(w.images)})"
    if w is not None and w.waiting_since is not None:
        which = "primary" if s.phase is Phase.PROMOTING else "canary"
        since = w.waiting_since.strftime("%H:%M:%S")
        line += f", waiting since {since} for the {which} Deployment to be ready"
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


def _before_generation(s: CanaryStatus, target: Target) -> Conclusion | None:
    """Keep waiting while the status was computed from a generation older than the wait's."""
    if s.observed_generation >= target.min_generation:
        return None
    hint = " (no status yet: is the operator running?)" if s.observed_generation == 0 else ""
    return Conclusion(
        None,
        f"waiting for the operator to observe generation {target.min_generation} "
        f"(status is from generation {s.observed_generation}){hint}",
    )


def _will_not_start(wanted: str, invalid: Condition) -> Conclusion:
    return Conclusion(
        ExitCode.FAILED,
        f"{wanted} will not start: the operator reports InvalidSpec "
        f"({invalid.reason}): {_short(invalid.message)}",
    )


def _not_started(snap: Snapshot, about: str, wanted: str) -> Conclusion:
    """Keep waiting: the status is `about` another rollout than the `wanted` one."""
    held = " spec.paused is true: it starts only after `canary resume`." if snap.paused else ""
    return Conclusion(None, f"status is about {about}; {wanted} has not started yet.{held}")


def _of_rollout(snap: Snapshot, want: WaitFor) -> Conclusion:
    """The conclusion once the status is about the rollout waited for."""
    if snap.status.phase.active:
        return Conclusion(None, describe(snap))
    return _final(snap, want)


def workload_mode(snap: Snapshot) -> bool:
    return bool((snap.raw.get("spec") or {}).get("workload"))


def _images(snap: Snapshot) -> str:
    w = snap.status.workload
    return ", ".join(w.images) if w is not None and w.images else "-"


def _rollout_of(snap: Snapshot, target: Target) -> bool:
    """Whether the status is about the workload rollout waited for."""
    s, w = snap.status, snap.status.workload
    if target.locked or target.image is None:
        if target.revision is not None:
            return s.revision == target.revision
        # Neither --image nor --revision: the Deployment's current template.
        return w is not None and s.revision is not None and s.revision == w.canary_revision
    return (
        w is not None
        and target.image in w.images
        and s.revision is not None
        and s.revision == w.canary_revision
    )


def lock(snap: Snapshot | None, target: Target) -> Target:
    """In workload mode, once the status is about the rollout waited for, wait for that
    revision only: a later, different revision is a newer template that replaced it."""
    if target.locked or snap is None or not workload_mode(snap):
        return target
    if target.image is None and target.revision is None:
        return target  # no rollout named: follow the Deployment's current template
    s = snap.status
    if s.observed_generation < target.min_generation or not _rollout_of(snap, target):
        return target
    return replace(target, revision=s.revision, locked=True)


def _judge_workload(snap: Snapshot, target: Target) -> Conclusion:
    s = snap.status
    if (waiting := _before_generation(s, target)) is not None:
        return waiting
    if target.locked and s.revision != target.revision:
        return Conclusion(
            ExitCode.FAILED,
            f"revision {target.revision} was replaced by a newer pod template (revision "
            f"{s.revision or '-'}, images {_images(snap)}) before it finished",
        )
    invalid = s.condition(ConditionType.INVALID_SPEC)
    if not _rollout_of(snap, target) and invalid is not None and invalid.status == "True":
        return _will_not_start("the rollout waited for", invalid)
    if not _rollout_of(snap, target):
        if target.image is not None:
            wanted = f"the rollout of image {target.image}"
        elif target.revision is not None:
            wanted = f"revision {target.revision}"
        else:
            wanted = "the rollout of the Deployment's pod template"
        w = s.workload
        if w is not None and w.canary_revision and w.canary_revision != s.revision:
            # The images are the new template's, not those of the revision in the status.
            about = f"(the Deployment's template {w.canary_revision}, images {_images(snap)}, "
            about += "has not started yet)"
        else:
            about = f"(images {_images(snap)})"
        return _not_started(snap, f"an older revision {s.revision or '-'} {about}", wanted)
    return _of_rollout(snap, target.want)


def judge(snap: Snapshot | None, target: Target) -> Conclusion:
    """The conclusion on one observation of the Canary (None: it does not exist)."""
    if snap is None:
        return Conclusion(ExitCode.NOT_FOUND, "the Canary does not exist (or was deleted)")
    if workload_mode(snap):
        return _judge_workload(snap, target)
    if target.image is not None:
        return Conclusion(
            ExitCode.USAGE,
            f"--image needs a Canary in workload mode (spec.workload); {snap.key} names two "
            "Services: wait with --revision",
        )
    wanted = target.revision or snap.target_revision
    if target.revision is not None and snap.target_revision != target.revision:
        return Conclusion(
            ExitCode.FAILED,
            f"the Canary asks for revision {snap.target_revision}, not {target.revision}: a "
            f"newer rollout replaced it, or the Canary was never updated to {target.revision}",
        )
    s = snap.status
    if (waiting := _before_generation(s, target)) is not None:
        return waiting
    invalid = s.condition(ConditionType.INVALID_SPEC)
    if invalid is not None and invalid.status == "True" and s.revision != wanted:
        return _will_not_start(f"revision {wanted}", invalid)
    if s.revision != wanted:
        return _not_started(snap, f"revision {s.revision or '-'}", f"revision {wanted}")
    return _of_rollout(snap, target.want)

"""The few lines `canary demo` ends with: how each story ended against what was expected, what
decided it (the errors comparison, with its effect and evidence, and how soon after the canary
got traffic), the traffic that went through Envoy, and whether the rolled-back canary still got
any.

Pure: results and counts in, lines out. The demo exits 0 only when `all_as_expected` holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from canary.api.status import CanaryStatus, MetricResult, MetricVerdict, Phase
from canary.sandbox.demo.settings import DemoSettings
from canary.sandbox.demo.stories import StoryResult


@dataclass(frozen=True)
class LoadTotals:
    """What the steady load saw over the whole demo."""

    by_version: dict[str, int]
    failed: int  # 5xx answers and connection errors


def all_as_expected(results: Sequence[StoryResult], expected: int = 2) -> bool:
    return len(results) == expected and all(r.as_expected for r in results)


HARM = "conclusive evidence of harm"
"""What the operator's rollback message says when a comparison decided it (`core.phases`)."""


def comparison_of(status: CanaryStatus) -> MetricResult | None:
    """The last result of the Canary's first comparison gate, when it has one with evidence."""
    return next((r for r in status.metrics if r.comparison is not None), None)


def harm(status: CanaryStatus) -> MetricResult | None:
    """The comparison whose conclusive evidence of harm rolled the canary back, if one did."""
    if status.phase is not Phase.ROLLED_BACK or HARM not in status.message:
        return None
    return next(
        (r for r in status.metrics if r.comparison is not None and r.verdict is MetricVerdict.FAIL),
        None,
    )


def seconds_of_traffic(result: MetricResult) -> float | None:
    """Seconds from the rollout's start (the canary's first traffic) to the result's look."""
    evidence = result.comparison
    if evidence is None or evidence.since is None:
        return None
    return (result.time - evidence.since).total_seconds()


def _ending(result: StoryResult) -> str:
    status = result.status
    if status.phase is Phase.SUCCEEDED:
        return f"promoted after {status.total_steps} steps"
    if status.phase is Phase.ROLLED_BACK:
        where = f"rolled back from step {status.current_step}"
        decided = harm(status)
        if decided is not None:
            return f"{where} by the {decided.name} comparison"
        return f"{where} after {status.failed_checks} failed checks"
    return status.message


def decision_lines(result: StoryResult, settings: DemoSettings) -> list[str]:
    """What decided the story, when a comparison had a say: for a rollback, how soon after the
    canary got traffic (against the step interval and what threshold gates would have needed),
    and the evidence; for a promotion, the comparison's last word on the healthy canary."""
    status, story = result.status, result.story
    decided = harm(status)
    if decided is not None and decided.comparison is not None:
        after = seconds_of_traffic(decided)
        when = f"{after:.0f}s after {story.canary} got traffic" if after is not None else "once"
        at = (
            "at the step's check"
            if decided.time == status.last_check_time
            else "at a look between checks"
        )
        threshold_floor = settings.failure_threshold * settings.interval
        out = [
            f"    decided by the {decided.name} comparison {when} ({at}; it is looked at every "
            f"{settings.look_every}s), rolled back at once on conclusive evidence of harm; "
            f"threshold gates checked every {settings.interval}s with failureThreshold "
            f"{settings.failure_threshold} need {threshold_floor}s at least",
            f"    evidence: {decided.message}",
        ]
        if status.current_step > 1:
            out.append(
                f"    {story.canary} reached step {status.current_step} first: the checks before "
                "found the comparison not yet conclusive (counted as Pass, onInconclusive)"
            )
        return out
    last = comparison_of(status)
    if last is None:
        return []
    if status.phase is Phase.SUCCEEDED:
        return [f"    {last.name} comparison at the last check: {last.message}"]
    if status.phase is Phase.ROLLED_BACK:
        return [f"    the {last.name} comparison was not yet conclusive then: {last.message}"]
    return []


def summary_lines(
    results: Sequence[StoryResult], traffic: LoadTotals, *, seconds: float, settings: DemoSettings
) -> list[str]:
    minutes, rest = divmod(int(seconds), 60)
    out = [f"Summary ({minutes}:{rest:02d}, {settings.describe()})"]
    for result in results:
        story, status = result.story, result.status
        verdict = "as expected" if result.as_expected else f"EXPECTED {story.expected}"
        out.append(
            f"  story {story.number}: {story.stable} -> {story.canary}: {status.phase} "
            f"({_ending(result)}) in {result.seconds:.0f}s: {verdict}"
        )
        out += decision_lines(result, settings)
    total = sum(traffic.by_version.values())
    split = ", ".join(f"{v} {n}" for v, n in sorted(traffic.by_version.items()) if v)
    out.append(f"  traffic: {total} requests through Envoy ({split}), {traffic.failed} failed")
    for result in results:
        if result.after is not None:
            answered = sum(n for v, n in result.after.by_version.items() if v)
            got = result.after.by_version.get(result.story.canary, 0)
            out.append(
                f"  once Envoy ran the end of story {result.story.number}, "
                f"{result.story.canary} answered {got} of the next {answered} requests"
            )
    if all_as_expected(results):
        out.append("Both stories ended as expected: v2 promoted, v3 rolled back.")
    else:
        out.append("The demo did NOT end as expected; see the operator log.")
    return out

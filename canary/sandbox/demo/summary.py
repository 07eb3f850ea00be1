"""The few lines `canary demo` ends with: how each story ended against what was expected, the
traffic that went through Envoy, and whether the rolled-back canary still got any.

Pure: results and counts in, lines out. The demo exits 0 only when `all_as_expected` holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from canary.api.status import Phase
from canary.sandbox.demo.settings import DemoSettings
from canary.sandbox.demo.stories import StoryResult


@dataclass(frozen=True)
class LoadTotals:
    """What the steady load saw over the whole demo."""

    by_version: dict[str, int]
    failed: int  # 5xx answers and connection errors


def all_as_expected(results: Sequence[StoryResult], expected: int = 2) -> bool:
    return len(results) == expected and all(r.as_expected for r in results)


def _ending(result: StoryResult) -> str:
    status = result.status
    if status.phase is Phase.SUCCEEDED:
        return f"promoted after {status.total_steps} steps"
    if status.phase is Phase.ROLLED_BACK:
        return (
            f"rolled back from step {status.current_step} after "
            f"{status.failed_checks} failed checks"
        )
    return status.message


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

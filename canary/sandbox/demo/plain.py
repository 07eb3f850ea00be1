"""Plain progress lines for `canary demo` when stdout is not a terminal (CI, a pipe): one line
per change of phase, step, running weights or check, and one per new Event.

Pure: the previous and the current `Frame` in, lines out; printing is the caller's job.
"""

from __future__ import annotations

from canary.api.status import CanaryStatus, MetricResult
from canary.sandbox.demo.frames import Frame
from canary.sandbox.demo.view import (
    deployment_text,
    limit_text,
    observed_text,
    value_text,
    weights_text,
)


def _stamp(frame: Frame) -> str:
    story = f"story {frame.story.number}" if frame.story else "setup"
    return f"[{frame.elapsed:6.1f}s] {story} |"


def lines(previous: Frame | None, frame: Frame) -> list[str]:
    out: list[str] = []
    stamp, status = _stamp(frame), frame.status
    before = previous.status if previous else None
    if previous is not None and frame.running != previous.running and previous.running:
        out.append(
            f"{stamp} observed under {weights_text(previous.running)}: {observed_text(previous)}"
        )
    if previous is None or frame.running != previous.running:
        out.append(
            f"{stamp} Envoy runs {weights_text(frame.running)} "
            f"(route: {weights_text(frame.declared)})"
        )
    if status is not None and (
        before is None
        or (status.phase, status.current_step, status.revision)
        != (before.phase, before.current_step, before.revision)
    ):
        out.append(
            f"{stamp} {status.phase} revision {status.revision} step "
            f"{status.current_step}/{status.total_steps} at {status.canary_weight}%: "
            f"{status.message}"
        )
    if (
        status is not None
        and status.last_check_time is not None
        and (before is None or before.last_check_time != status.last_check_time)
    ):
        results = [*status.metrics, *([status.request_count] if status.request_count else [])]
        gates = "; ".join(
            f"{r.name} {value_text(r)} ({limit_text(r)}) {r.verdict}" for r in results
        )
        out.append(f"{stamp} check: {gates or 'no gate'}; failed so far {status.failed_checks}")
    if frame.deployments and (previous is None or frame.deployments != previous.deployments):
        shown = "; ".join(deployment_text(d) for d in frame.deployments)
        out.append(f"{stamp} deployments: {' '.join(shown.split())}")
    for result in _changed_by_look(before, status):
        out.append(f"{stamp} look: {result.name} {result.verdict}: {result.message}")
    seen = len(previous.events) if previous is not None else 0
    for event in frame.events[seen:]:
        out.append(f"{stamp} event {event.type} {event.reason}: {event.note}")
    return out


def _changed_by_look(
    before: CanaryStatus | None, status: CanaryStatus | None
) -> list[MetricResult]:
    """Comparisons whose verdict a look between checks (not a check) just changed, e.g. to
    conclusive: a line each, rather than one at every look."""
    if status is None or status.looked_at is None:
        return []
    if before is not None and before.looked_at == status.looked_at:
        return []
    if status.last_check_time is not None and status.last_check_time >= status.looked_at:
        return []
    earlier = {r.name: r.verdict for r in (before.metrics if before else ())}
    return [
        r
        for r in status.metrics
        if r.comparison is not None
        and r.time == status.looked_at
        and r.verdict != earlier.get(r.name)
    ]

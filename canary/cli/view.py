"""What `canary watch` draws: revision and phase, step progress over the declared schedule,
declared and observed weights, each metric's last value against its threshold (a comparison's
effect against its tolerance, with its evidence), recent events.

Pure: a snapshot, events, the observed split and the time in; a rich renderable out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from canary.api.status import MetricResult, MetricVerdict, Phase
from canary.cli.conclusion import Conclusion, describe
from canary.cli.events import EventLine
from canary.cli.evidence import (
    INDENT,
    bounds,
    comparison_lines,
    reading,
    since_text,
    slowdowns,
    value_text,
)
from canary.cli.render import age
from canary.cli.snapshot import Snapshot
from canary.cli.split import Split
from canary.cli.workload import workload_line
from canary.core.weights import schedule

VERDICT_STYLE = {MetricVerdict.PASS: "green", MetricVerdict.FAIL: "red"}
PHASE_STYLE = {
    Phase.SUCCEEDED: "green",
    Phase.ROLLING_BACK: "red",
    Phase.ROLLED_BACK: "red",
    Phase.FAILED: "red",
    Phase.PAUSED: "yellow",
}


def threshold(result: MetricResult) -> str:
    """A threshold gate's bounds; a comparison's tolerance (`<= +1 pp`)."""
    return bounds(result)


def steps_line(snap: Snapshot) -> Text:
    s, text = snap.status, Text("Steps     ")
    weights = schedule(snap.spec.steps) if snap.spec else ()
    for i, weight in enumerate((*weights, 100)):
        label = f"{weight}%" if weight != 100 or i < len(weights) else "promote"
        current = weight == s.canary_weight and s.phase.active
        style = "bold reverse" if current else "green" if weight <= s.canary_weight else "dim"
        text.append(f"[{label}]" if current else label, style=style)
        text.append(" -> " if i < len(weights) else "")
    return text.append(f"   (step {s.current_step}/{s.total_steps})")


def split_line(split: Split) -> str:
    if not split.configured:
        return "Observed  not configured (pass --prometheus URL to see the split at the gateway)"
    if split.canary_percent is None:
        return f"Observed  {split.note}"
    rate = (split.stable_rate or 0) + (split.canary_rate or 0)
    return (
        f"Observed  stable {100 - split.canary_percent:.1f}% / canary "
        f"{split.canary_percent:.1f}% of {rate:.2f} req/s"
    )


def _table(title: str, *columns: str) -> Table:
    """A table of the view: plain rules, its title on the left."""
    return Table(*columns, box=box.SIMPLE, title=title, title_justify="left")


def metrics_table(results: Sequence[MetricResult], now: datetime) -> Table:
    table = _table(
        "Metrics (last check, or look for comparisons and failEarly gates)",
        "METRIC",
        "VALUE",
        "THRESHOLD",
        "VERDICT",
        "CHECKED",
        "DETAIL",
    )
    for r in results:
        verdict = Text(str(r.verdict), style=VERDICT_STYLE.get(r.verdict, "yellow"))
        detail = reading(r.comparison) if r.comparison is not None else r.message
        table.add_row(r.name, value_text(r), threshold(r), verdict, age(r.time, now), detail)
    return table


def comparisons_view(
    results: Sequence[MetricResult], now: datetime, *, slowdown: Mapping[str, float]
) -> RenderableType:
    """Each comparison's evidence: the effect and its confidence sequence against the
    tolerance, both backends' samples, the evidence of harm against its threshold."""
    compared = [r for r in results if r.comparison is not None]
    parts: list[RenderableType] = [
        Text(
            f"Comparisons: canary vs stable, the same queries {since_text(compared, now)}",
            style="italic",
        )
    ]
    for r in compared:
        assert r.comparison is not None
        head = Text(f"  {r.name}  ").append(
            str(r.verdict), style=VERDICT_STYLE.get(r.verdict, "yellow")
        )
        parts.append(head.append(f"   looked {age(r.time, now)} ago"))
        lines = comparison_lines(r.comparison, slowdown=slowdown.get(r.name))
        parts += [Text(INDENT + line) for line in lines]
    return Group(*parts)


def events_table(events: Sequence[EventLine], now: datetime) -> Table:
    table = _table("Recent events", "AGE", "TYPE", "REASON", "MESSAGE")
    for e in events:
        style = "red" if e.type == "Warning" else ""
        table.add_row(age(e.time, now), Text(e.type, style=style), e.reason, e.note)
    return table


def view(
    snap: Snapshot | None,
    *,
    events: Sequence[EventLine],
    split: Split,
    now: datetime,
    conclusion: Conclusion | None,
) -> RenderableType:
    if snap is None:
        return Text("The Canary does not exist (or was deleted).", style="red")
    s = snap.status
    head = Text(f"Canary {snap.key}   ").append(
        str(s.phase), style=PHASE_STYLE.get(s.phase, "bold")
    )
    head.append(f"   revision {s.revision or '-'}")
    if snap.target_revision and snap.target_revision != s.revision:
        head.append(f" (spec asks for {snap.target_revision}: not started yet)", style="yellow")
    template = s.workload.canary_revision if s.workload is not None else None
    if template and template != s.revision:
        head.append(f" (the Deployment runs {template}: not started yet)", style="yellow")
    parts: list[RenderableType] = [head, *([Text(describe(snap))] if s.phase.active else [])]
    workload = workload_line(snap, now)
    if workload is not None:
        parts.append(Text(f"Workload  {workload}"))
    parts.append(steps_line(snap))
    parts.append(Text(f"Declared  stable {s.stable_weight}% / canary {s.canary_weight}%"))
    parts.append(Text(split_line(split)))
    limit = snap.spec.analysis.failure_threshold if snap.spec and snap.spec.analysis else "-"
    last = f"{age(s.last_check_time, now)} ago" if s.last_check_time else "none yet"
    looked = f", looked {age(s.looked_at, now)} ago" if s.looked_at else ""
    parts.append(
        Text(
            f"Checks    last {last}{looked}, failed {s.failed_checks}/{limit}, "
            f"inconclusive in a row {s.inconclusive_checks}"
        )
    )
    results = [*s.metrics, *([s.request_count] if s.request_count else [])]
    parts.append(metrics_table(results, now) if results else Text("Metrics   no check yet"))
    if any(r.comparison is not None for r in results):
        parts.append(comparisons_view(results, now, slowdown=slowdowns(snap.spec)))
    parts.append(events_table(events, now))
    if conclusion is not None and conclusion.done:
        parts.append(Text(f"Result: {conclusion.message} (exit {conclusion.code})", style="bold"))
    return Group(*parts)

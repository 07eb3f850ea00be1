"""The live view of `canary demo`: the story, the step, the declared weights, what Envoy runs and
the split it really served, each gate's value against its threshold, the phase and the Events.

Pure: a `Frame` in, a rich renderable out; refreshing the screen is `run.py`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from canary.api.status import MetricResult, MetricVerdict, Phase
from canary.cli.view import threshold
from canary.core.weights import schedule
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo.frames import Frame
from canary.sandbox.demo.observe import DeploymentLine
from canary.sandbox.demo.stories import StoryResult

PHASE_STYLE = {Phase.SUCCEEDED: "bold green", Phase.ROLLED_BACK: "bold red", Phase.FAILED: "red"}
VERDICT_STYLE = {MetricVerdict.PASS: "green", MetricVerdict.FAIL: "bold red"}
EVENTS_SHOWN = 6


def weights_text(weights: Mapping[str, int]) -> str:
    """`v1 90% / v2 10%`; in workload mode the primary first, as the route lists it (Envoy's
    table may list its clusters in another order)."""
    ordered = sorted(weights.items(), key=lambda item: item[0] != m.PRIMARY)
    return " / ".join(f"{v} {w}%" for v, w in ordered) or "-"


def observed_text(frame: Frame) -> str:
    """The load's answers by version since Envoy took its weights, and the binomial test."""
    tally = frame.observed
    answered = sum(n for v, n in tally.by_version.items() if v)
    if not answered:
        return "no answers yet"
    parts = [
        f"{v} {n} ({100 * n / answered:.1f}%)" for v, n in sorted(tally.by_version.items()) if v
    ]
    line = " / ".join(parts) + f" of {answered} answers in {frame.running_for:.0f}s"
    p_value = frame.p_value()
    if p_value is not None:
        line += f", binomial p = {p_value:.2f}"
    failed = sum(n for code, n in tally.by_status.items() if code >= 500 or code == 0)
    return line + (f"; {failed} failed" if failed else "")


def value_text(result: MetricResult) -> str:
    """A threshold gate's value; a comparison's effect (canary minus stable, points)."""
    if result.value is None:
        return str(result.outcome)
    if result.comparison is not None:
        return f"{result.value:+.1f} pp"
    return f"{result.value:.4g}"


def limit_text(result: MetricResult) -> str:
    """A threshold gate's bounds; a comparison's confidence sequence against its tolerance."""
    evidence = result.comparison
    if evidence is None:
        return threshold(result)
    return f"[{evidence.lower:+.1f}, {evidence.upper:+.1f}] vs +{evidence.tolerance:g} pp"


def steps_text(frame: Frame) -> Text:
    status, text = frame.status, Text()
    if frame.spec is None or status is None:
        return text.append("-")
    weights = schedule(frame.spec.steps)
    for i, weight in enumerate((*weights, 100)):
        label = f"{weight}%" if i < len(weights) else "promote"
        here = status.phase.active and weight == status.canary_weight
        done = weight <= status.canary_weight and status.phase is not Phase.ROLLED_BACK
        text.append(
            f"[{label}]" if here else label,
            style="bold reverse" if here else "green" if done else "dim",
        )
        text.append("  " if i < len(weights) else "")
    return text.append(f"   step {status.current_step}/{status.total_steps}")


def checks_text(frame: Frame) -> str:
    """Failed checks against the threshold, and when the next check is due."""
    status, spec = frame.status, frame.spec
    if status is None or spec is None or spec.analysis is None:
        return "-"
    line = (
        f"failed {status.failed_checks}/{spec.analysis.failure_threshold}, "
        f"inconclusive in a row {status.inconclusive_checks}"
    )
    since = [t for t in (status.step_started_at, status.last_check_time) if t is not None]
    if status.phase.active and since:
        due = max(since) + spec.steps.interval_length
        line += f"; next check in {max(0.0, (due - frame.now).total_seconds()):.0f}s"
    return line


def deployment_text(line: DeploymentLine) -> str:
    """`app-primary  v2  2/2 ready   ReplicaSets: 6f7d9c (v2) 2/2, 5b8c4d (v1) 0/1`"""
    sets = ", ".join(
        f"{rs.name.removeprefix(line.name + '-')} ({rs.tag}) {rs.ready}/{rs.replicas}"
        for rs in line.replica_sets
    )
    text = f"{line.name:<12} {line.tag:<4} {line.ready}/{line.replicas} ready"
    return text + (f"   ReplicaSets: {sets}" if sets else "")


def _facts(frame: Frame) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    status = frame.status
    phase = (
        Text(str(status.phase), style=PHASE_STYLE.get(status.phase, "bold yellow"))
        if status
        else Text("waiting for the operator", style="dim")
    )
    if status is not None:
        phase.append(f"   revision {status.revision or '-'}   {status.message}", style="")
    table.add_row("Phase", phase)
    table.add_row("Steps", steps_text(frame))
    table.add_row("Route", weights_text(frame.declared) + "   (declared in the HTTPRoute)")
    table.add_row("Envoy runs", weights_text(frame.running) + f"   (for {frame.running_for:.0f}s)")
    table.add_row("Observed", observed_text(frame))
    counted = " / ".join(f"{v} {n}" for v, n in sorted(frame.counted.items()))
    table.add_row("Envoy counted", (counted or "-") + "   requests per backend since then")
    for i, line in enumerate(frame.deployments):
        table.add_row("Deployments" if i == 0 else "", deployment_text(line))
    if status is not None and frame.spec is not None and frame.spec.analysis is not None:
        table.add_row("Checks", checks_text(frame))
    return table


def _metrics(frame: Frame) -> RenderableType:
    status = frame.status
    results: Sequence[MetricResult] = ()
    if status is not None:
        results = [*status.metrics, *([status.request_count] if status.request_count else [])]
    if not results:
        return Text("Gates     no check yet", style="dim")
    table = Table("GATE", "VALUE", "THRESHOLD", "VERDICT", "WHY", box=box.SIMPLE_HEAD)
    for r in results:
        verdict = Text(str(r.verdict), style=VERDICT_STYLE.get(r.verdict, "yellow"))
        table.add_row(r.name, value_text(r), limit_text(r), verdict, r.message)
    return table


def _events(frame: Frame) -> RenderableType:
    table = Table(
        "AGE",
        "TYPE",
        "REASON",
        "MESSAGE",
        box=box.SIMPLE_HEAD,
        title="Recent events",
        title_justify="left",
    )
    for event in frame.events[-EVENTS_SHOWN:]:
        age = f"{(frame.now - event.time).total_seconds():.0f}s" if event.time else "-"
        style = "red" if event.type == "Warning" else ""
        table.add_row(age, Text(event.type, style=style), event.reason, event.note)
    return table


def render(frame: Frame, *, done: Sequence[StoryResult], total: int = 2) -> RenderableType:
    minutes, seconds = divmod(int(frame.elapsed), 60)
    head = Text(f"canary demo   {minutes}:{seconds:02d}   ", style="bold")
    if frame.story is not None:
        head.append(f"story {frame.story.number}/{total}: {frame.story.title}", style="bold cyan")
    lines: list[RenderableType] = [head]
    for result in done:
        mark, style = ("ok", "green") if result.as_expected else ("UNEXPECTED", "red")
        lines.append(
            Text(
                f"  story {result.story.number}: {result.status.phase} "
                f"in {result.seconds:.0f}s ({mark})",
                style=style,
            )
        )
    return Group(*lines, _facts(frame), _metrics(frame), _events(frame))

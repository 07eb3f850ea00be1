"""How a gate's last result reads in `canary get -o wide` and `canary watch`: a threshold gate
as its value against its bounds; a comparison gate as its effect (canary minus stable, in
percentage points) with its confidence sequence against the tolerance, the samples of both
backends, and the evidence of harm against the level at which it is conclusive
(docs/judgement.md).

Pure: a `MetricResult` in, short lines of text out (each under 100 columns for gate names up
to 16 characters).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from canary.api.spec import CanarySpec
from canary.api.status import (
    BackendSamples,
    ComparisonEvidence,
    ComparisonKind,
    MetricResult,
    MetricVerdict,
)
from canary.cli.render import age, columns

INDENT = "    "
"""Where a comparison's evidence lines start, under its row."""


def bounds(result: MetricResult) -> str:
    """What the value is judged against: a threshold gate's bounds, a comparison's tolerance."""
    evidence = result.comparison
    if evidence is not None:
        return f"<= {pp(evidence.tolerance)}"
    if result.min is not None and result.max is not None:
        return f"{result.min:g} to {result.max:g}"
    if result.min is not None:
        return f">= {result.min:g}"
    return f"<= {result.max:g}" if result.max is not None else "-"


def value_text(result: MetricResult) -> str:
    """The value (a comparison's effect, in pp), or the outcome when there is none."""
    if result.value is None:
        return str(result.outcome)
    return pp(result.value) if result.comparison is not None else f"{result.value:g}"


def pp(value: float) -> str:
    """Percentage points with their sign: `+0.26 pp`, `-1 pp`."""
    return f"{_signed(value)} pp"


def _signed(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value:+.2f}".rstrip("0").rstrip(".")


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _samples(side: str, samples: BackendSamples, beyond: str = "") -> str:
    """`canary 12 of 1,812 (0.66%)`: failures of requests."""
    n, k = samples.requests, samples.failures
    return f"{side} {_count(k)} of {_count(n)}{beyond} ({_share(k, n)})"


def _share(failures: float, requests: float) -> str:
    return f"{100 * failures / requests:.2f}%" if requests > 0 else "-"


def level(evidence: ComparisonEvidence) -> str:
    """The confidence sequence's level, 1 - alpha of the gate (`99%`, `99.67%`)."""
    return f"{100 * (1 - math.exp(-evidence.threshold)):.4g}%"


def e_value(log_value: float) -> str:
    """`exp(log_value)` readably, without overflowing (`3.32`, `2,410`, `1.23e+07`, `e^812`)."""
    if log_value > 700:
        return f"e^{log_value:.0f}"
    value = math.exp(log_value)
    if value < 100:
        return f"{value:.3g}"
    return f"{value:,.0f}" if value < 1e6 else f"{value:.3g}"


def reading(evidence: ComparisonEvidence) -> str:
    """What the confidence sequence says about the tolerance, whatever the verdict counted as."""
    if evidence.lower > evidence.tolerance:
        return "conclusive harm"
    if evidence.upper < evidence.tolerance:
        return "conclusively within it"
    return "not conclusive yet"


def comparison_lines(evidence: ComparisonEvidence, *, slowdown: float | None = None) -> list[str]:
    """Three lines: the effect and its confidence sequence against the tolerance, the samples
    of both backends, the evidence of harm against its threshold. `slowdown` (a latency gate's,
    in percent) names the stable's boundary."""
    interval = f"[{_signed(evidence.lower)}, {_signed(evidence.upper)}]"
    latency = evidence.kind is ComparisonKind.LATENCY
    cs = "CS" if latency else f"{level(evidence)} CS"  # latency: the level is per boundary
    effect = (
        f"effect {pp(evidence.effect)}, {cs} {interval} vs tolerance "
        f"{pp(evidence.tolerance)}: {reading(evidence)}"
    )
    c, s = evidence.canary, evidence.stable
    if latency and evidence.boundary is not None:
        b = evidence.boundary
        shifted = f"{b / (1 + slowdown / 100):.3g}" if slowdown is not None else "less slowdown"
        samples = (
            f"slow requests: {_samples('canary', c, f' > {b:g}')}, "
            f"{_samples('stable', s, f' > {shifted}')}"
        )
    else:
        samples = f"errors: {_samples('canary', c)}, {_samples('stable', s)}"
    # The verdict's own criterion: for latency each boundary needs more than the gate's threshold.
    harm = "conclusive" if evidence.lower > evidence.tolerance else "not conclusive"
    proof = (
        f"evidence of harm: log {evidence.log_evidence:.2f} of {evidence.threshold:.2f} needed "
        f"(e-value {e_value(evidence.log_evidence)} of {e_value(evidence.threshold)}): {harm}"
    )
    return [effect, samples, proof]


def verdict_counts(results: Sequence[MetricResult]) -> str:
    """`2/0/1`: how many gates pass, fail and are inconclusive; `-` with no results."""
    if not results:
        return "-"
    counts = Counter(r.verdict for r in results)
    order = (MetricVerdict.PASS, MetricVerdict.FAIL, MetricVerdict.INCONCLUSIVE)
    return "/".join(str(counts[v]) for v in order)


def since_text(results: Sequence[MetricResult], now: datetime) -> str:
    """When the comparisons' common window started (the rollout's start), as an age."""
    starts = [r.comparison.since for r in results if r.comparison and r.comparison.since]
    start = f" {age(min(starts), now)} ago" if starts else ""
    return f"since the rollout started{start}"


def slowdowns(spec: CanarySpec | None) -> dict[str, float]:
    """Each latency comparison gate's tolerated slowdown (percent), by gate name."""
    if spec is None or spec.analysis is None:
        return {}
    return {
        g.name: g.compare.latency.slowdown
        for g in spec.analysis.metrics
        if g.compare is not None and g.compare.latency is not None
    }


def gate_table(
    results: Sequence[MetricResult], now: datetime, *, slowdown: Mapping[str, float] = {}
) -> str:
    """Every gate's last result as columns, each comparison followed by its evidence lines;
    the detail column holds a threshold gate's message (a comparison's is in its lines)."""
    rows = [
        [
            r.name,
            str(r.verdict),
            value_text(r),
            bounds(r),
            age(r.time, now),
            reading(r.comparison) if r.comparison else r.message,
        ]
        for r in results
    ]
    table = columns(("gate", "verdict", "value", "against", "checked", "detail"), rows)
    lines = table.splitlines()
    out = lines[:1]
    for line, r in zip(lines[1:], results, strict=True):
        out.append(line)
        if r.comparison is not None:
            out += [
                INDENT + text
                for text in comparison_lines(r.comparison, slowdown=slowdown.get(r.name))
            ]
    return "\n".join(out)

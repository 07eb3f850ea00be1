"""What `canary check` adds when a gate has no data: whether the series its query selects by
the Canary's own values exist at all, and if not, which ones Prometheus has instead — so a
template written for another naming (the sandbox's `ns/svc/port`, Contour's `ns_svc_port`, Envoy
Gateway's per-rule clusters) is named rather than guessed at.

Asks Prometheus through the operator's provider; `absence_finding` (the wording) is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from canary.cli.findings import Finding, Severity
from canary.core.observations import SampleOutcome
from canary.providers.base import MetricProvider, SeriesLister
from canary.providers.render import TemplateError
from canary.providers.selectors import (
    FAMILY_METRICS,
    Selector,
    exists_query,
    family_query,
    identity_selectors,
)

SHOWN = 5


@dataclass(frozen=True)
class Absence:
    """A selector of a gate's query that matches no series, and what Prometheus has instead."""

    selector: str
    """The selector with the Canary's values, e.g. `envoy_cluster_upstream_rq_xx{...}`."""
    metric: str
    labels: tuple[str, ...]
    present: tuple[Mapping[str, str], ...] = ()
    """The metric's series, by the selector's labels (empty: the metric is absent)."""
    families: tuple[str, ...] = ()
    """When the metric is absent: which built-in families' metrics Prometheus has."""
    listing_error: str = ""


def _rank(labels: Mapping[str, str], hints: Sequence[str]) -> tuple[int, str]:
    """Sorts first the label sets whose values contain the earlier hints (each hint outweighs
    all later ones together), then by value."""
    values = " ".join(labels.values())
    weight = sum(2 ** (len(hints) - i) for i, h in enumerate(hints) if h and h in values)
    return (-weight, values)


def _show(labels: Mapping[str, str], keys: Sequence[str]) -> str:
    return "{" + ", ".join(f'{k}="{labels.get(k, "")}"' for k in keys) + "}"


def absence_finding(
    subject: str, absence: Absence, *, hints: Sequence[str], quiet: bool
) -> Finding:
    """A warning naming the missing series and the ones present, those most like the Canary's
    (values containing `hints`: its Service names, namespace) first."""
    why = (
        " (perhaps only because the canary has had no traffic yet: some series appear with the "
        "first request)"
        if quiet
        else ""
    )
    message = f"no series match {absence.selector}{why}"
    if absence.listing_error:
        return Finding(
            Severity.WARNING,
            subject,
            message,
            f"listing the series present failed: {absence.listing_error}",
        )
    if absence.present:
        ranked = sorted(absence.present, key=lambda labels: _rank(labels, hints))
        shown = ", ".join(_show(labels, absence.labels) for labels in ranked[:SHOWN])
        more = f" ({len(ranked)} in all)" if len(ranked) > SHOWN else ""
        hint = (
            f"{absence.metric} exists with {shown}{more}: if one of these is the canary, the "
            "template assumes another implementation's naming; pick the template of yours "
            "(docs/metrics.md) or write an inline query with these labels"
        )
        return Finding(Severity.WARNING, subject, message, hint)
    if absence.families:
        have = "; ".join(f"{m} (templates {FAMILY_METRICS.get(m, '?')})" for m in absence.families)
        hint = (
            f"Prometheus has no {absence.metric} at all; it has {have}: pick the template of "
            "your implementation (docs/metrics.md)"
        )
    else:
        hint = (
            f"Prometheus has no {absence.metric} at all, nor any series the built-in templates "
            "read: is the proxy or the application scraped by this Prometheus?"
        )
    return Finding(Severity.WARNING, subject, message, hint)


async def absences(
    provider: MetricProvider, template: str, variables: Mapping[str, str]
) -> list[Absence]:
    """The selectors of `template` (those matching on the Canary's values) with no series."""
    found: list[Absence] = []
    for selector in identity_selectors(template):
        try:
            rendered = selector.rendered(variables)
        except TemplateError:
            continue  # reported as unrenderable elsewhere
        sample = await provider.query("series", exists_query(rendered))
        if sample.outcome is not SampleOutcome.NO_DATA:
            continue  # there are series (or the question failed, which the gate reports)
        found.append(await _what_is_there(provider, selector, rendered))
    return found


async def _what_is_there(provider: MetricProvider, selector: Selector, rendered: str) -> Absence:
    if not isinstance(provider, SeriesLister):
        return Absence(
            rendered,
            selector.metric,
            selector.labels,
            listing_error="this provider cannot list series",
        )
    present, error = await provider.label_sets(selector.present_query)
    if error:
        return Absence(rendered, selector.metric, selector.labels, listing_error=error)
    if present:
        return Absence(rendered, selector.metric, selector.labels, tuple(present))
    names, error = await provider.label_sets(family_query())
    families = tuple(sorted({labels.get("__name__", "") for labels in names} - {""}))
    return Absence(
        rendered, selector.metric, selector.labels, families=families, listing_error=error
    )


async def series_findings(
    provider: MetricProvider,
    subject: str,
    template: str,
    variables: Mapping[str, str],
    *,
    quiet: bool,
) -> list[Finding]:
    """A warning per selector of a no-data gate that matches no series at all."""
    hints = [
        variables.get(k, "")
        for k in ("canary_service", "stable_service", "canary_namespace", "namespace")
    ]
    return [
        absence_finding(subject, absence, hints=hints, quiet=quiet)
        for absence in await absences(provider, template, variables)
    ]

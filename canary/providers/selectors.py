"""The series a query template picks by the Canary's own values, and the PromQL that asks
Prometheus whether they exist and what is there instead: for `canary check` to say why a gate
has no data ("no `envoy_cluster_upstream_rq_xx{envoy_cluster_name="shop_web_80"}`; there is
`shop/web/80`").

Pure text: finds `metric{...}` selectors in a template and keeps the matchers that hold a
`{{ placeholder }}` (the identity of the backend); matchers on constants (`le`, a status class)
are left out, since their series may rightly be absent (no 5xx yet).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from canary.providers.render import render

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_MATCHER = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(\"|'|`)(.*)\3\s*", re.DOTALL)
_QUOTES = "\"'`"
# The series each family of built-in templates reads first: what to suggest when a gate's
# metric is absent altogether.
FAMILY_METRICS: Mapping[str, str] = {
    "envoy_cluster_upstream_rq_xx": "contour-*, envoy-*, envoy-gateway-*",
    "istio_requests_total": "istio-*",
    "http_requests_total": "app-*",
}


@dataclass(frozen=True)
class Selector:
    """`metric{matchers}` as written in a template, with only its placeholder matchers."""

    metric: str
    matchers: tuple[str, ...]
    labels: tuple[str, ...]

    @property
    def template(self) -> str:
        return self.metric + "{" + ", ".join(self.matchers) + "}"

    def rendered(self, variables: Mapping[str, str]) -> str:
        """The selector with the Canary's values (raises `TemplateError` as `render` does)."""
        return render(self.template, variables)

    @property
    def present_query(self) -> str:
        """The label values of `labels` that the metric has, one series per combination."""
        return f"count by ({', '.join(self.labels)}) ({self.metric})"


def exists_query(rendered_selector: str) -> str:
    """One number when any series matches the selector, no data when none does."""
    return f"count({rendered_selector})"


def family_query(metrics: Sequence[str] = tuple(FAMILY_METRICS)) -> str:
    """Which of `metrics` Prometheus has, one series per name present."""
    names = "|".join(re.escape(m) for m in metrics)
    return f'count by (__name__) ({{__name__=~"{names}"}})'


def identity_selectors(template: str) -> list[Selector]:
    """Every distinct `metric{...}` of `template` that matches on a placeholder, in order."""
    found: list[Selector] = []
    i = 0
    while i < len(template):
        name = _NAME.match(template, i)
        if name is None or (i > 0 and _continues_name(template[i - 1])):
            i += 1
            continue
        brace = name.end()
        while brace < len(template) and template[brace] == " ":
            brace += 1
        if not template.startswith("{", brace) or template.startswith("{{", brace):
            i = name.end()
            continue
        end = _closing_brace(template, brace)
        if end is None:
            break
        selector = _selector(name.group(0), template[brace + 1 : end])
        if selector is not None and selector not in found:
            found.append(selector)
        i = end + 1
    return found


def _continues_name(ch: str) -> bool:
    return ch.isalnum() or ch in "_:"


def _outside_quotes(text: str, start: int = 0) -> Iterator[int]:
    """The indexes from `start` of the characters of `text` that stand outside quoted strings
    (PromQL's three quotes; a backslash escapes the next character, except in backticks). The
    quotes themselves are not yielded."""
    i, quote = start, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in _QUOTES:
            quote = ch
        else:
            yield i
        i += 1


def _closing_brace(text: str, start: int) -> int | None:
    """The `}` closing the selector opened at `start`, skipping quoted text and `{{ ... }}`."""
    skip = 0
    for i in _outside_quotes(text, start + 1):
        if i < skip:
            continue
        if text.startswith("{{", i):
            close = text.find("}}", i)
            if close < 0:
                return None
            skip = close + 2
        elif text[i] == "}":
            return i
    return None


def _split_matchers(body: str) -> list[str]:
    """The matchers of a selector's body: split at the commas outside quotes."""
    cuts = [i for i in _outside_quotes(body) if body[i] == ","]
    bounds = zip([-1, *cuts], [*cuts, len(body)], strict=True)
    return [part for a, b in bounds if (part := body[a + 1 : b]).strip()]


def _selector(metric: str, body: str) -> Selector | None:
    matchers, labels = [], []
    for part in _split_matchers(body):
        match = _MATCHER.fullmatch(part)
        if match is None or "{{" not in match.group(4):
            continue
        matchers.append(part.strip())
        labels.append(match.group(1))
    if not matchers:
        return None
    return Selector(metric, tuple(matchers), tuple(dict.fromkeys(labels)))

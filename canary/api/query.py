"""Inline PromQL as users write it in a gate: the variables it may use (`{{ namespace }}` …)
and the rules every holder of a `template` XOR `query` shares, for pydantic and CEL alike.

Checks text only; rendering a query is `canary.providers`' job.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from canary.api.duration import minimum_duration_rule
from canary.api.model import Rule


class QueryVariable(StrEnum):
    """Variables an inline query may use, written `{{ name }}`; any other name is rejected."""

    NAMESPACE = "namespace"
    CANARY = "canary"
    ROUTE = "route"
    STABLE_SERVICE = "stable_service"
    STABLE_PORT = "stable_port"
    CANARY_SERVICE = "canary_service"
    CANARY_PORT = "canary_port"
    STABLE_NAMESPACE = "stable_namespace"  # the stable Service's namespace (spec.stable.namespace)
    CANARY_NAMESPACE = "canary_namespace"  # the canary Service's namespace (spec.canary.namespace)
    INTERVAL = "interval"


_PLACEHOLDER = r"\{\{[^}]*\}\}"
# Spelled compactly (the API server's CEL cost estimate grows with the regex's length); a unit
# test checks it admits exactly the names of `QueryVariable`.
_KNOWN_NAMES = "namespace|canary|route|interval|(stable|canary)_(service|port|namespace)"
_KNOWN_PLACEHOLDER = r"^\{\{ *(" + _KNOWN_NAMES + r") *\}\}$"
_QUERY_RULES_CEL = (
    "self.query.findAll('" + _PLACEHOLDER.replace("\\", "\\\\") + "').all(v, v.matches('"
    + _KNOWN_PLACEHOLDER.replace("\\", "\\\\") + "'))"
)
QUERY_VARIABLES_MESSAGE = "query may only use the variables " + ", ".join(
    "{{ " + v.value + " }}" for v in QueryVariable
)

Query = Annotated[str, Field(min_length=1, max_length=4096)]


def query_text_rules(what: str, field: str = "query") -> tuple[Rule, ...]:
    """The rules of an optional inline-PromQL field `field`: not blank, known variables only."""

    def text(model: Any) -> str | None:
        value: str | None = getattr(model, field)
        return value

    def known_variables(model: Any) -> bool:
        found = re.findall(_PLACEHOLDER, text(model) or "")
        return all(re.fullmatch(_KNOWN_PLACEHOLDER, v) for v in found)

    return (
        Rule(
            f"!has(self.{field}) || self.{field}.trim().size() > 0",
            f"{what}: {field} must not be empty",
            lambda m: text(m) is None or bool((text(m) or "").strip()),
            field_path=f".{field}",
        ),
        Rule(
            f"!has(self.{field}) || " + _QUERY_RULES_CEL.replace("self.query", f"self.{field}"),
            f"{what}: {QUERY_VARIABLES_MESSAGE}".replace("query may", f"{field} may"),
            known_variables,
            field_path=f".{field}",
        ),
    )


def query_rules(what: str, *, exclusive: bool = True) -> tuple[Rule, ...]:
    """The rules shared by every model that holds a `template` XOR an inline `query`
    (`exclusive=False`: the holder states its own rule about which of them it needs)."""
    exclusive_rule = Rule(
        "has(self.template) != has(self.query)",
        f"{what}: set exactly one of template (a built-in) or query (inline PromQL)",
        lambda m: (m.template is None) != (m.query is None),
    )
    return (
        *((exclusive_rule,) if exclusive else ()),
        *query_text_rules(what),
        minimum_duration_rule(
            "interval", "1s", f"{what}: interval must be at least 1s", optional=True
        ),
    )

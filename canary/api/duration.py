"""Durations as users write them (`30s`, `1m`, `1h30m`, `500ms`): the schema type and the parser.

The same syntax is understood by CEL's `duration()` on the API server, so rules can compare
durations there (`minimum_duration_rule`). Parsing is pure; nothing here measures time.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field
from pydantic.alias_generators import to_camel

from canary.api.model import Rule

DURATION_PATTERN = r"^([0-9]{1,6}(ms|s|m|h))+$"

Duration = Annotated[str, Field(pattern=DURATION_PATTERN, max_length=32)]
"""A duration such as `30s`, `1m`, `1h30m` or `500ms` (units: ms, s, m, h)."""

_PART = re.compile(r"([0-9]{1,6})(ms|s|m|h)")
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
}


def parse_duration(text: str) -> timedelta:
    """Parse `1h30m`-style text; raise ValueError on anything the schema pattern rejects."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"invalid duration {text!r}: write e.g. 30s, 1m, 1h30m or 500ms")
    return sum(
        (int(amount) * _UNITS[unit] for amount, unit in _PART.findall(text)), timedelta()
    )


def minimum_duration_rule(
    field: str, minimum: str, message: str, *, optional: bool = False
) -> Rule:
    """The rule that the duration `field` (its Python name; the API's is its camelCase alias)
    is at least `minimum` (e.g. `1s`), checked by CEL's `duration()` and in Python alike.
    `optional`: a field left out passes."""
    name, bound = to_camel(field), parse_duration(minimum)
    cel = f"duration(self.{name}) >= duration('{minimum}')"

    def check(model: Any) -> bool:
        value = getattr(model, field)
        return (optional and value is None) or parse_duration(value) >= bound

    return Rule(
        f"!has(self.{name}) || {cel}" if optional else cel, message, check, field_path=f".{name}"
    )


def format_duration(value: timedelta) -> str:
    """The shortest `1h30m`-style text for a whole number of seconds (used in messages)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts)

"""Durations as users write them, parsed the way the API server's CEL `duration()` reads them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from canary.api.duration import format_duration, parse_duration

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("1m", timedelta(minutes=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("2m30s", timedelta(minutes=2, seconds=30)),
        ("90s", timedelta(seconds=90)),
    ],
)
def test_go_style_durations_parse_to_timedeltas(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1", "1 m", "1.5h", "-1m", "1d", "m1", "1m 30s"])
def test_anything_else_is_refused_with_an_example_of_the_syntax(text: str) -> None:
    with pytest.raises(ValueError, match=r"write e\.g\. 30s"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [(timedelta(seconds=90), "1m30s"), (timedelta(hours=2), "2h"), (timedelta(0), "0s")],
)
def test_durations_are_formatted_compactly_for_messages(value: timedelta, text: str) -> None:
    assert format_duration(value) == text

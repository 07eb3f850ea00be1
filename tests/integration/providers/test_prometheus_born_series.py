"""A counter born inside a comparison's window with counts already on it (Envoy creates a
backend's per-class counters at their first request) is counted whole by a real Prometheus,
where `increase()` alone loses what was counted before its first scrape."""

from __future__ import annotations

import asyncio
import time

import pytest

from canary.providers.prometheus import PrometheusProvider
from canary.providers.render import render
from canary.providers.templates import counted_in_window
from canary.sandbox.exporter import Exporter

pytestmark = pytest.mark.integration


async def test_a_series_born_in_the_window_is_counted_from_zero(
    exporter: Exporter, provider: PrometheusProvider, unique: str
) -> None:
    name = f"born_{unique}_total"
    old, new = {"backend": "stable"}, {"backend": "canary"}
    exporter.set_rate(name, old, 10)
    await asyncio.sleep(4)  # the old series has samples before the window
    window_start = time.time()
    await asyncio.sleep(2)
    exporter.bump(name, new, 100)  # born with 100 already counted
    exporter.set_rate(name, new, 10)
    await asyncio.sleep(8)
    window = f"{round(time.time() - window_start)}s"
    series = f'{name}{{backend="canary"}}'
    whole = render(f"sum({counted_in_window(series)})", {"interval": window})
    counted = await provider.query("canary", whole)
    plain = await provider.query("canary", f"sum(increase({series}[{window}]))")
    # 100 at birth plus about 10/s since, to the last scrape (1 s apart).
    assert counted.value is not None and 160 <= counted.value <= 200, counted
    assert plain.value is not None and plain.value < 120, plain  # what increase() alone sees
    old_series = f'{name}{{backend="stable"}}'
    stable = render(f"sum({counted_in_window(old_series)})", {"interval": window})
    steady = await provider.query("stable", stable)
    # An old series is counted by increase() over the window: about 10/s of it.
    assert steady.value is not None and 80 <= steady.value <= 160, steady
    exporter.remove(name)

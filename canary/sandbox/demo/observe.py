"""Read the demo world back: the route's declared weights, the weights Envoy confirmed it runs,
Envoy's per-backend request counters, the Canary and its Events.

Reads only; it never changes the world. The stories, the live view and the tests share it.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import datetime
from typing import TYPE_CHECKING

from canary.cli.events import EventLine
from canary.kube.resources import CANARY, EVENT, HTTPROUTE, JsonObj
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo.settings import DemoSettings

if TYPE_CHECKING:
    from canary.sandbox.demo.world import DemoWorld

_VERSION = re.compile(r"^app-(v\d+)$")


def listener(settings: DemoSettings) -> str:
    """Envoy's listener (and route table) of the demo Gateway: `namespace/gateway/port`."""
    return f"{settings.namespace}/{m.GATEWAY_NAME}/{m.PORT}"


def version_of(service: str) -> str | None:
    match = _VERSION.match(service)
    return match.group(1) if match else None


def envoy_weights(world: DemoWorld) -> dict[str, int]:
    """{version: weight} of the demo route, as Envoy last confirmed running it."""
    config = world.gateway.envoy.running.route_configs.get(listener(world.settings)) or {}
    prefix = f"{world.settings.namespace}/"
    for vhost in config.get("virtual_hosts", []):
        for route in vhost.get("routes", []):
            clusters = route.get("route", {}).get("weighted_clusters", {}).get("clusters", [])
            if clusters:
                return {
                    v: int(c["weight"])
                    for c in clusters
                    if c["name"].startswith(prefix)
                    and (v := version_of(c["name"].split("/")[1])) is not None
                }
    return {}


async def wait_for_envoy(
    world: DemoWorld, weights: dict[str, int], *, within: float = 60.0
) -> float:
    """Wait until Envoy runs exactly `weights`; return that moment (`time.monotonic()`)."""
    try:
        async with asyncio.timeout(within):
            while envoy_weights(world) != weights:
                world.check_operator()
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise TimeoutError(
            f"Envoy did not run {weights} within {within:g}s (it runs {envoy_weights(world)})"
        ) from None
    return time.monotonic()


def declared_weights(route: JsonObj) -> dict[str, int]:
    """{version: weight} of the route's first rule, as the API server has it."""
    rules = route.get("spec", {}).get("rules") or [{}]
    refs = rules[0].get("backendRefs") or []
    return {v: int(r.get("weight", 1)) for r in refs if (v := version_of(r["name"])) is not None}


async def route(world: DemoWorld) -> JsonObj:
    return await world.kube.get(HTTPROUTE, m.ROUTE_NAME, world.settings.namespace)


async def canary(world: DemoWorld) -> JsonObj | None:
    return await world.kube.get_or_none(CANARY, m.CANARY_NAME, world.settings.namespace)


async def envoy_requests(world: DemoWorld) -> dict[str, int]:
    """{version: requests Envoy sent to it so far}: the `upstream_rq_total` of each cluster."""
    ns = re.escape(world.settings.namespace)
    stats = await world.gateway.envoy.stats(
        rf"^cluster\.{ns}/app-v\d+/{m.PORT}\.upstream_rq_total$"
    )
    out: dict[str, int] = {}
    for name, value in stats.items():
        version = version_of(name.split("/")[1])
        if version is not None:
            out[version] = int(value)
    return out


async def canary_events(world: DemoWorld, *, since: datetime | None = None) -> list[EventLine]:
    """The Events about the demo Canary, oldest first (only those at or after `since`)."""
    items, _ = await world.kube.list(EVENT, world.settings.namespace)
    lines = []
    for event in items:
        about = event.get("regarding") or {}
        if about.get("kind") != "Canary" or about.get("name") != m.CANARY_NAME:
            continue
        stamp = event.get("eventTime") or event.get("metadata", {}).get("creationTimestamp")
        when = datetime.fromisoformat(str(stamp)) if stamp else None
        if since is not None and when is not None and when < since:
            continue
        lines.append(
            EventLine(
                when,
                str(event.get("type", "")),
                str(event.get("reason", "")),
                str(event.get("note", "")),
            )
        )
    lines.sort(key=lambda e: (e.time is not None, e.time or datetime.min))
    return lines

"""Read the demo world back: the route's declared weights, the weights Envoy confirmed it runs,
Envoy's per-backend request counters, the Canary and its Events.

Reads only; it never changes the world. The stories, the live view and the tests share it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from canary.cli.events import EventLine
from canary.kube.resources import CANARY, DEPLOYMENT, EVENT, HTTPROUTE, REPLICASET, JsonObj
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo.settings import DemoSettings

if TYPE_CHECKING:
    from canary.sandbox.demo.world import DemoWorld

_VERSION = re.compile(r"^app-(v\d+|primary|canary)$")


def route_config(settings: DemoSettings) -> str:
    """The Envoy route table Contour makes for the demo Gateway's listener: `http-<port>`."""
    return f"http-{settings.listener_port}"


def version_of(service: str) -> str | None:
    """The demo's name of a backend Service: its version (`app-v2`), or in workload mode
    `primary`/`canary` (`app-primary`, `app-canary`)."""
    match = _VERSION.match(service)
    return match.group(1) if match else None


def _weights_in(dump: JsonObj, settings: DemoSettings) -> dict[str, int]:
    """{version: weight} of the demo route in an Envoy route config dump. Contour names a
    cluster `namespace/service/port/hash`."""
    for config in dump.get("configs", []):
        table = config.get("route_config", {})
        if table.get("name") != route_config(settings):
            continue
        for vhost in table.get("virtual_hosts", []):
            for route in vhost.get("routes", []):
                clusters = route.get("route", {}).get("weighted_clusters", {}).get("clusters", [])
                if not clusters and (single := route.get("route", {}).get("cluster")):
                    clusters = [{"name": single, "weight": 100}]
                weights = {
                    v: int(c.get("weight", 1))
                    for c in clusters
                    if (parts := str(c["name"]).split("/"))[0] == settings.namespace
                    and len(parts) > 1
                    and (v := version_of(parts[1])) is not None
                }
                if weights:
                    return weights
    return {}


async def envoy_weights(world: DemoWorld) -> dict[str, int]:
    """{version: weight} of the demo route, as Envoy runs it now (its admin config dump).
    A version at weight 0 is absent from Envoy's table: it counts as 0 here."""
    dump = json.loads(await world.envoy.admin("/config_dump?resource=dynamic_route_configs"))
    return _weights_in(dump, world.settings)


async def wait_for_envoy(
    world: DemoWorld, weights: dict[str, int], *, within: float = 60.0
) -> float:
    """Wait until Envoy runs `weights` (a version at 0 may be absent from its table); return
    that moment (`time.monotonic()`)."""
    wanted = {v: w for v, w in weights.items() if w}
    running: dict[str, int] = {}
    try:
        async with asyncio.timeout(within):
            while True:
                running = await envoy_weights(world)
                if {v: w for v, w in running.items() if w} == wanted:
                    break
                world.check_operator()
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise TimeoutError(
            f"Envoy did not run {weights} within {within:g}s (it runs {running})"
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
    """{version: requests Envoy sent to it so far}: each cluster's `upstream_rq_total` (Envoy
    names a Contour cluster's stats `namespace_service_port`)."""
    ns = re.escape(world.settings.namespace)
    text = await world.envoy.admin(
        f"/stats?filter=^cluster\\.{ns}_app-[a-z0-9]+_{m.PORT}\\.upstream_rq_total$"
    )
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        service = name.removeprefix(f"cluster.{world.settings.namespace}_").split("_")[0]
        version = version_of(service)
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


@dataclass(frozen=True)
class ReplicaSetLine:
    """One ReplicaSet of a Deployment: its pod-template hash, the tag of its image(s), its
    replicas and ready Pods."""

    name: str
    tag: str
    replicas: int
    ready: int


@dataclass(frozen=True)
class DeploymentLine:
    """A Deployment of the demo as the live view shows it: wanted and ready replicas, and the
    ReplicaSets that have (or should have) Pods."""

    name: str
    tag: str
    replicas: int
    ready: int
    replica_sets: tuple[ReplicaSetLine, ...] = ()


def _tag(template: JsonObj) -> str:
    images = [c.get("image", "") for c in template.get("spec", {}).get("containers") or []]
    return ",".join(str(i).rsplit(":", 1)[-1] if ":" in str(i) else str(i) for i in images)


def deployment_lines(
    deployments: list[JsonObj], replica_sets: list[JsonObj]
) -> list[DeploymentLine]:
    """The demo's Deployments (by name) with their ReplicaSets that run or want Pods, newest
    first. Pure: the lists as the API server returns them."""
    owned: dict[str, list[ReplicaSetLine]] = {}
    for rs in sorted(
        replica_sets, key=lambda r: str(r["metadata"].get("creationTimestamp", "")), reverse=True
    ):
        spec, status = rs.get("spec", {}), rs.get("status", {})
        replicas, ready = int(spec.get("replicas") or 0), int(status.get("readyReplicas") or 0)
        if not replicas and not int(status.get("replicas") or 0):
            continue
        owner = next(
            (o["name"] for o in rs["metadata"].get("ownerReferences") or []
             if o.get("kind") == "Deployment"),
            None,
        )
        if owner is not None:
            line = ReplicaSetLine(rs["metadata"]["name"], _tag(spec.get("template", {})),
                                  replicas, ready)
            owned.setdefault(owner, []).append(line)
    return [
        DeploymentLine(
            name=(name := d["metadata"]["name"]),
            tag=_tag(d.get("spec", {}).get("template", {})),
            replicas=int(d.get("spec", {}).get("replicas") or 0),
            ready=int(d.get("status", {}).get("readyReplicas") or 0),
            replica_sets=tuple(owned.get(name, ())),
        )
        for d in sorted(deployments, key=lambda d: str(d["metadata"]["name"]))
    ]


async def deployments(world: DemoWorld) -> list[DeploymentLine]:
    """The Deployments and ReplicaSets in the demo's namespace, now."""
    ns = world.settings.namespace
    items, _ = await world.kube.list(DEPLOYMENT, ns)
    sets, _ = await world.kube.list(REPLICASET, ns)
    return deployment_lines(items, sets)

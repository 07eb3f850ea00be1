"""Gateway API objects → Envoy configuration: one listener and route table per Gateway port.

Pure: `translate(world, ports)` returns the whole desired Envoy state as JSON-ready dicts;
pushing it to the running Envoy is `envoy.py`'s job. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from canary.sandbox.gateway.admission import ANY_HOST, listener_supported, parent_results
from canary.sandbox.gateway.backends import cluster_config
from canary.sandbox.gateway.routes import INVALID_BACKEND_CLUSTER, Entry, MatchKey, route_entries
from canary.sandbox.gateway.world import JsonObj, Key, World, key_of


@dataclass(frozen=True)
class EnvoyConfig:
    """The desired Envoy state. Each listener takes the route configuration of the same name."""

    listeners: Mapping[str, int] = field(default_factory=dict)  # name → loopback port
    route_configs: Mapping[str, JsonObj] = field(default_factory=dict)
    clusters: Mapping[str, JsonObj] = field(default_factory=dict)


def listener_name(gateway: Key, port: int) -> str:
    # Gateway names may contain dots, which Envoy's stats would split into tags.
    namespace, name = gateway
    return f"{namespace}/{name.replace('.', '_')}/{port}"


def listener_names(world: World) -> list[str]:
    """One Envoy listener per (Gateway, port) with at least one supported listener."""
    names = {
        listener_name(key_of(gw), int(lst["port"]))
        for gw in world.our_gateways()
        for lst in gw.get("spec", {}).get("listeners") or []
        if listener_supported(lst)
    }
    return sorted(names)


def _host_key(pattern: str) -> tuple[int, int]:
    """Rules of the most specific matching hostname first: exact, then wildcard, then any."""
    if pattern == ANY_HOST:
        return (2, 0)
    return (1 if pattern.startswith("*.") else 0, -len(pattern))


def _covers(pattern: str, host: str) -> bool:
    if pattern in (host, ANY_HOST):
        return True
    return pattern.startswith("*.") and host.endswith(pattern[1:])


def translate(world: World, ports: Mapping[str, int]) -> EnvoyConfig:
    """The Envoy config for every Gateway of ours; `ports` maps listener names to local ports."""
    by_listener: dict[str, dict[str, list[Entry]]] = {name: {} for name in listener_names(world)}
    for _, route in sorted(world.routes.items()):
        entries: list[Entry] | None = None
        for parent in parent_results(world, route):
            if not parent.accepted:
                continue
            entries = entries if entries is not None else route_entries(world, route)
            for binding in parent.bindings:
                hosts = by_listener.setdefault(listener_name(parent.gateway, binding.port), {})
                for host in binding.hostnames:
                    hosts.setdefault(host, []).extend(entries)
    route_configs: dict[str, JsonObj] = {
        name: {"name": name, "virtual_hosts": _virtual_hosts(hosts)}
        for name, hosts in by_listener.items()
    }
    used = {
        c["name"]
        for rc in route_configs.values()
        for vh in rc["virtual_hosts"]
        for r in vh["routes"]
        for c in r.get("route", {}).get("weighted_clusters", {}).get("clusters", [])
        if c["name"] != INVALID_BACKEND_CLUSTER
    }
    return EnvoyConfig(
        listeners={name: ports[name] for name in route_configs},
        route_configs=route_configs,
        clusters={name: cluster_config(world, name) for name in sorted(used)},
    )


def _virtual_hosts(hosts: Mapping[str, list[Entry]]) -> list[JsonObj]:
    """One virtual host per hostname, holding the rules of every pattern that covers it."""
    vhosts = []
    for host in sorted({*hosts, ANY_HOST}, key=lambda h: (_host_key(h), h)):
        ranked: dict[str, tuple[tuple[tuple[int, int], MatchKey], JsonObj]] = {}
        for pattern, entries in hosts.items():
            if _covers(pattern, host):
                for entry in entries:
                    key = (_host_key(pattern), entry.key)
                    name = str(entry.route["name"])
                    if name not in ranked or key < ranked[name][0]:
                        ranked[name] = (key, entry.route)
        routes = [route for _, route in sorted(ranked.values(), key=lambda kv: kv[0])]
        vhosts.append({"name": host, "domains": [host], "routes": routes})
    return vhosts

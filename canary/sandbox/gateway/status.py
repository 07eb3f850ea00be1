"""The status this controller owes: GatewayClass, Gateway (with listeners) and HTTPRoute parents.

Pure: takes the world, the Envoy outcome and `now`; returns full status objects. A condition's
`lastTransitionTime` moves only when its status flips, so an unchanged world yields an equal
status and the controller skips the write.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from canary.sandbox.gateway.admission import listener_supported, parent_results
from canary.sandbox.gateway.backends import RefReason, route_refs
from canary.sandbox.gateway.routes import ignored_filters
from canary.sandbox.gateway.world import GATEWAY_GROUP, JsonObj, Key, World, key_of
from canary.sandbox.processes import LOOPBACK

HTTPROUTE_KIND: JsonObj = {"group": GATEWAY_GROUP, "kind": "HTTPRoute"}


@dataclass(frozen=True)
class Programmed:
    """What Envoy runs: `ok` once it confirmed our config; else why not (pending or rejected)."""

    ok: bool
    reason: str = "Pending"
    message: str = "waiting for the first configuration push"


def condition(type_: str, ok: bool, reason: str, message: str, generation: int) -> JsonObj:
    return {
        "type": type_,
        "status": "True" if ok else "False",
        "reason": str(reason),
        "message": message,
        "observedGeneration": generation,
    }


def with_transition_times(new: list[JsonObj], old: list[JsonObj], now: str) -> list[JsonObj]:
    """Keep each condition's previous `lastTransitionTime` unless its status changed."""
    previous = {c.get("type"): c for c in old}
    out = []
    for cond in new:
        prev = previous.get(cond["type"])
        same = prev is not None and prev.get("status") == cond["status"]
        stamp = prev.get("lastTransitionTime") if same and prev else None
        out.append({**cond, "lastTransitionTime": stamp or now})
    return out


def _generation(obj: JsonObj) -> int:
    return int(obj.get("metadata", {}).get("generation", 0))


def class_status(world: World, gateway_class: JsonObj, now: str) -> JsonObj:
    old = gateway_class.get("status") or {}
    accepted = condition(
        "Accepted",
        True,
        "Accepted",
        f"handled by {world.controller_name}",
        _generation(gateway_class),
    )
    conditions = with_transition_times([accepted], old.get("conditions") or [], now)
    return {**old, "conditions": conditions}


def route_status(world: World, route: JsonObj, now: str) -> JsonObj:
    """Our `status.parents` entries (one per parentRef on our Gateways); others' are kept."""
    old = route.get("status") or {}
    mine = world.controller_name
    old_parents = old.get("parents") or []
    generation = _generation(route)
    refs_reason, refs_message = route_refs(world, route)
    ignored = ignored_filters(route)
    ours = []
    for result in parent_results(world, route):
        message = result.message
        if result.accepted and ignored:
            message += f"; ignored unsupported filters: {', '.join(ignored)}"
        new = [
            condition("Accepted", result.accepted, result.reason, message, generation),
            condition(
                "ResolvedRefs",
                refs_reason is RefReason.RESOLVED_REFS,
                refs_reason,
                refs_message,
                generation,
            ),
        ]
        prev: JsonObj = next(
            (
                p
                for p in old_parents
                if p.get("controllerName") == mine and p.get("parentRef") == result.parent_ref
            ),
            {},
        )
        ours.append(
            {
                "parentRef": result.parent_ref,
                "controllerName": mine,
                "conditions": with_transition_times(new, prev.get("conditions") or [], now),
            }
        )
    others = [p for p in old_parents if p.get("controllerName") != mine]
    if not ours and len(others) == len(old_parents):
        return old  # never ours: leave other controllers' routes exactly as they are
    return {**old, "parents": others + ours}


def attached_routes(world: World) -> Counter[tuple[Key, str]]:
    """How many routes are attached to each (gateway, listener name)."""
    counts: Counter[tuple[Key, str]] = Counter()
    for route in world.routes.values():
        seen = set()
        for result in parent_results(world, route):
            if result.accepted:
                seen |= {(result.gateway, b.listener) for b in result.bindings}
        counts.update(seen)
    return counts


def gateway_status(
    world: World,
    gateway: JsonObj,
    programmed: Programmed,
    attached: Counter[tuple[Key, str]],
    now: str,
) -> JsonObj:
    old = gateway.get("status") or {}
    gen, key = _generation(gateway), key_of(gateway)
    old_listeners = {lst.get("name"): lst for lst in old.get("listeners") or []}
    listeners, all_valid = [], True
    for lst in gateway.get("spec", {}).get("listeners") or []:
        name, supported = str(lst["name"]), listener_supported(lst)
        all_valid &= supported
        kinds = (lst.get("allowedRoutes") or {}).get("kinds") or [HTTPROUTE_KIND]
        bad_kinds = [k for k in kinds if {**HTTPROUTE_KIND, **k} != HTTPROUTE_KIND]
        new = [
            condition("Accepted", True, "Accepted", "", gen)
            if supported
            else condition(
                "Accepted", False, "UnsupportedProtocol", f"protocol {lst.get('protocol')}", gen
            ),
            condition(
                "Programmed",
                supported and programmed.ok,
                "Programmed" if supported and programmed.ok else "Invalid",
                "" if supported and programmed.ok else (programmed.message if supported else ""),
                gen,
            ),
            condition(
                "ResolvedRefs",
                not bad_kinds,
                "InvalidRouteKinds" if bad_kinds else "ResolvedRefs",
                f"unsupported route kinds: {bad_kinds}" if bad_kinds else "",
                gen,
            ),
        ]
        previous = old_listeners.get(name, {}).get("conditions") or []
        listeners.append(
            {
                "name": name,
                "supportedKinds": [HTTPROUTE_KIND] if supported else [],
                "attachedRoutes": attached.get((key, name), 0),
                "conditions": with_transition_times(new, previous, now),
            }
        )
    conditions = [
        condition(
            "Accepted",
            True,
            "Accepted" if all_valid else "ListenersNotValid",
            "" if all_valid else "some listeners use an unsupported protocol",
            gen,
        ),
        condition(
            "Programmed",
            programmed.ok,
            "Programmed" if programmed.ok else programmed.reason,
            "" if programmed.ok else programmed.message,
            gen,
        ),
    ]
    return {
        **old,
        "addresses": [{"type": "IPAddress", "value": LOOPBACK}],
        "conditions": with_transition_times(conditions, old.get("conditions") or [], now),
        "listeners": listeners,
    }

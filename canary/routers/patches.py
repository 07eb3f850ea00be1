"""The only writes a router makes to a route: guarded RFC 6902 JSON Patches of managed weights.

Pure. `rules` and `backendRefs` are atomic lists, so server-side apply cannot own one weight;
instead every patch first `test`s the resourceVersion and the identity of each ref it touches,
so a concurrent edit makes the server reject it rather than write to the wrong place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from canary.kube.resources import JsonObj
from canary.routers.errors import InvalidWeightError, RouteShapeError
from canary.routers.refs import BackendKey
from canary.routers.rules import (
    ManagedRule,
    find_managed,
    locate,
    missing_rule_names,
    refs_of,
    rule_weights,
    rules_of,
    weight_of,
)

JsonPatch = list[dict[str, Any]]
REWRITE_WEIGHT = 100


def check_canary_weight(canary_weight: object) -> int:
    """The canary weight as an int in 0..100; anything else never reaches the server."""
    if isinstance(canary_weight, bool) or not isinstance(canary_weight, int):
        raise InvalidWeightError(f"canary weight must be an integer, got {canary_weight!r}")
    if not 0 <= canary_weight <= 100:
        raise InvalidWeightError(f"canary weight must be within 0..100, got {canary_weight}")
    return canary_weight


def _complete_rules(
    route: JsonObj, *, stable: BackendKey, canary: BackendKey, rule_names: Sequence[str] | None
) -> list[ManagedRule]:
    managed, issues = find_managed(route, stable=stable, canary=canary, rule_names=rule_names)
    if issues:
        raise RouteShapeError("; ".join(issue.message for issue in issues))
    return managed


def _ref_path(rule: int, ref: int) -> str:
    return f"/spec/rules/{rule}/backendRefs/{ref}"


def _guards(route: JsonObj, touched: list[tuple[int, int]]) -> JsonPatch:
    """`test` ops: nothing changed since we read the route, and each touched ref is still ours."""
    version = route.get("metadata", {}).get("resourceVersion")
    if not version:
        raise RouteShapeError("the route has no metadata.resourceVersion: read it from the API")
    ops: JsonPatch = [{"op": "test", "path": "/metadata/resourceVersion", "value": version}]
    rules = rules_of(route)
    for rule, ref in touched:
        current = refs_of(rules[rule])[ref]
        path = _ref_path(rule, ref)
        ops.append({"op": "test", "path": f"{path}/name", "value": current["name"]})
        ops.append({"op": "test", "path": f"{path}/port", "value": current["port"]})
        if "namespace" in current:  # a cross-namespace backend: the same name elsewhere is not it
            ops.append({"op": "test", "path": f"{path}/namespace", "value": current["namespace"]})
    return ops


def canary_shares(
    route: JsonObj, *, stable: BackendKey, canary: BackendKey, rule_names: Sequence[str] | None
) -> list[int]:
    """The canary's share (percent) in each complete managed rule of `route`."""
    managed, _ = find_managed(route, stable=stable, canary=canary, rule_names=rule_names)
    return [rule.canary_share for rule in rule_weights(route, managed)]


def weight_patch(
    route: JsonObj,
    *,
    stable: BackendKey,
    canary: BackendKey,
    rule_names: Sequence[str] | None,
    canary_weight: int,
) -> JsonPatch:
    """Set canary to `canary_weight` and stable to the rest in each managed rule; [] if no-op."""
    weight = check_canary_weight(canary_weight)
    managed = _complete_rules(route, stable=stable, canary=canary, rule_names=rule_names)
    rules = rules_of(route)
    touched: list[tuple[int, int]] = []
    writes: JsonPatch = []
    for rule in managed:
        assert rule.stable_ref is not None and rule.canary_ref is not None  # _complete_rules
        refs = refs_of(rules[rule.index])
        for ref, value in ((rule.stable_ref, 100 - weight), (rule.canary_ref, weight)):
            touched.append((rule.index, ref))
            if weight_of(refs[ref]) != value:
                writes.append(
                    {"op": "add", "path": f"{_ref_path(rule.index, ref)}/weight", "value": value}
                )
    return _guards(route, touched) + writes if writes else []


def rewrite_patch(
    route: JsonObj,
    *,
    stable: BackendKey,
    canary: BackendKey,
    rule_names: Sequence[str] | None,
) -> JsonPatch:
    """Promotion by rewrite: drop the stable ref and give the canary weight 100; [] if done.

    A rule that already holds only the canary (with no stable ref) counts as rewritten.
    """
    managed = locate(route, stable=stable, canary=canary, rule_names=rule_names)
    missing = missing_rule_names(route, rule_names)
    # A rule holding the canary once and no stable is what a finished rewrite leaves behind.
    unfit = [r for r in managed if r.canary_count != 1 or r.stable_count > 1]
    if missing or unfit:
        _, issues = find_managed(route, stable=stable, canary=canary, rule_names=rule_names)
        raise RouteShapeError("; ".join(issue.message for issue in issues))
    rules = rules_of(route)
    touched: list[tuple[int, int]] = []
    writes: JsonPatch = []
    removals: JsonPatch = []
    for rule in managed:
        if rule.stable_ref is None or rule.canary_ref is None:
            continue
        refs = refs_of(rules[rule.index])
        touched += [(rule.index, rule.canary_ref), (rule.index, rule.stable_ref)]
        if weight_of(refs[rule.canary_ref]) != REWRITE_WEIGHT:
            path = f"{_ref_path(rule.index, rule.canary_ref)}/weight"
            writes.append({"op": "add", "path": path, "value": REWRITE_WEIGHT})
        # Removal comes after every write so the indexes above are still the ones we read.
        removals.append({"op": "remove", "path": _ref_path(rule.index, rule.stable_ref)})
    if not writes and not removals:
        return []
    return _guards(route, touched) + writes + removals

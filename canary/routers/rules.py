"""Which rules of a route the canary manages, and where its two backendRefs sit in them.

Pure: reads a route dict, never changes it. Everything the router writes is addressed through
the `ManagedRule` positions found here, so a rule or backendRef that is not ours is never named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from canary.api.conditions import RouteReason
from canary.core.observations import RouteIssue, RouteProblem, RuleWeights
from canary.kube.resources import JsonObj
from canary.routers.refs import BackendKey, backend_matches, route_kind, route_namespace

DEFAULT_WEIGHT = 1  # the Gateway API default for a backendRef without `weight`


@dataclass(frozen=True)
class ManagedRule:
    """A managed rule: its index and name, and where each managed backendRef sits in it.

    A position is None when the backend is absent from the rule or listed more than once
    (`*_count` tells which).
    """

    index: int
    name: str | None
    stable_ref: int | None
    canary_ref: int | None
    stable_count: int = 1
    canary_count: int = 1


def rules_of(route: JsonObj) -> list[JsonObj]:
    rules = route.get("spec", {}).get("rules") or []
    return [rule if isinstance(rule, dict) else {} for rule in rules]


def refs_of(rule: JsonObj) -> list[JsonObj]:
    refs = rule.get("backendRefs") or []
    return [ref if isinstance(ref, dict) else {} for ref in refs]


def _position(refs: list[JsonObj], key: BackendKey, ns: str) -> tuple[int | None, int]:
    """The index of the only backendRef matching `key` (None if absent), and how many match."""
    found = [i for i, ref in enumerate(refs) if backend_matches(ref, key, ns)]
    return (found[0] if len(found) == 1 else None), len(found)


def locate(
    route: JsonObj,
    *,
    stable: BackendKey,
    canary: BackendKey,
    rule_names: Sequence[str] | None,
) -> list[ManagedRule]:
    """The managed rules: each rule holding both backends, or exactly the rules named.

    `rule_names` None or empty selects by backends, as `spec.route.ruleNames` documents.
    """
    ns = route_namespace(route)
    wanted = set(rule_names) if rule_names else None  # empty means "not given", as in the API
    managed: list[ManagedRule] = []
    for index, rule in enumerate(rules_of(route)):
        if wanted is not None and rule.get("name") not in wanted:
            continue
        refs = refs_of(rule)
        stable_at, stable_count = _position(refs, stable, ns)
        canary_at, canary_count = _position(refs, canary, ns)
        if wanted is None and not (stable_count and canary_count):
            continue
        managed.append(
            ManagedRule(index, rule.get("name"), stable_at, canary_at, stable_count, canary_count)
        )
    return managed


def missing_rule_names(route: JsonObj, rule_names: Sequence[str] | None) -> list[str]:
    present = {rule.get("name") for rule in rules_of(route)}
    return [name for name in dict.fromkeys(rule_names or ()) if name not in present]


def find_managed(
    route: JsonObj,
    *,
    stable: BackendKey,
    canary: BackendKey,
    rule_names: Sequence[str] | None,
) -> tuple[list[ManagedRule], list[RouteIssue]]:
    """The managed rules, and an issue for each reason the canary cannot be driven in them."""
    ns, kind = route_namespace(route), route_kind(route)
    title = f"{kind} {ns}/{route.get('metadata', {}).get('name', '')}"
    managed = locate(route, stable=stable, canary=canary, rule_names=rule_names)
    messages: list[str] = []
    for rule in managed:
        where = f"rule {rule.name!r} (index {rule.index})" if rule.name else f"rule {rule.index}"
        for key, count, role in (
            (stable, rule.stable_count, "stable"),
            (canary, rule.canary_count, "canary"),
        ):
            if count > 1:
                messages.append(
                    f"{title} {where} lists the {role} {key.describe(ns)} {count} times: keep "
                    f"one backendRef for it so the canary knows which weight to set"
                )
            elif count == 0:
                messages.append(
                    f"{title} {where} has no backendRef to the {role} {key.describe(ns)}: "
                    f"add it to that rule's backendRefs"
                )
    for missing in missing_rule_names(route, rule_names):
        named = sorted(str(rule["name"]) for rule in rules_of(route) if rule.get("name"))
        messages.append(
            f"{title} has no rule named {missing!r} (named rules: {', '.join(named) or 'none'}): "
            f"set spec.rules[].name on the rule to manage, or fix the Canary's rule names"
        )
    if not managed and not messages:
        messages.append(
            f"No rule of {title} has backendRefs to both the stable {stable.describe(ns)} and "
            f"the canary {canary.describe(ns)}: add both to the rule that should carry the "
            f"canary (e.g. stable weight 100, canary weight 0)"
        )
    issues = [
        RouteIssue(RouteProblem.BACKENDS_NOT_IN_ROUTE, RouteReason.BACKENDS_NOT_IN_ROUTE, message)
        for message in messages
    ]
    return managed, issues


def managed_rules(
    route: JsonObj,
    *,
    stable: BackendKey,
    canary: BackendKey,
    rule_names: Sequence[str] | None,
) -> list[int]:
    """Indexes of the managed rules: those holding both backends, or exactly the named ones."""
    managed, _ = find_managed(route, stable=stable, canary=canary, rule_names=rule_names)
    return [rule.index for rule in managed]


def weight_of(ref: JsonObj) -> int:
    weight = ref.get("weight", DEFAULT_WEIGHT)
    return weight if isinstance(weight, int) and not isinstance(weight, bool) else DEFAULT_WEIGHT


def rule_weights(route: JsonObj, managed: Sequence[ManagedRule]) -> tuple[RuleWeights, ...]:
    """The current weights of the managed backendRefs of each complete managed rule."""
    rules = rules_of(route)
    result: list[RuleWeights] = []
    for rule in managed:
        if rule.stable_ref is None or rule.canary_ref is None:
            continue
        refs = refs_of(rules[rule.index])
        result.append(
            RuleWeights(
                index=rule.index,
                name=rule.name,
                stable=weight_of(refs[rule.stable_ref]),
                canary=weight_of(refs[rule.canary_ref]),
            )
        )
    return tuple(result)

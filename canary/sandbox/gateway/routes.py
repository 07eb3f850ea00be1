"""One HTTPRoute rule → Envoy routes: matches, weighted clusters, header filters, precedence.

Pure. Requests that would go to an invalid backend get a 500 (Gateway API): a rule with no
usable weight becomes a `direct_response` 500, never an invalid weighted_clusters block.
"""

from __future__ import annotations

from dataclasses import dataclass

from canary.sandbox.gateway.backends import resolve
from canary.sandbox.gateway.world import JsonObj, World, key_of

# A static cluster in the bootstrap whose only endpoint answers 500: the share of an invalid
# backendRef goes there, so the valid backends keep exactly their declared share.
INVALID_BACKEND_CLUSTER = "canary-sandbox/invalid-backend/500"
DEFAULT_MATCH: JsonObj = {"path": {"type": "PathPrefix", "value": "/"}}
_PATH_RANK = {"Exact": 0, "RegularExpression": 1, "PathPrefix": 2}
MAPPED_FILTERS = frozenset({"RequestHeaderModifier", "ResponseHeaderModifier"})


# path rank, -path length, method?, -headers, -query params, creation, namespace/name, rule, match
MatchKey = tuple[int, int, int, int, int, str, str, int, int]


@dataclass(frozen=True)
class Entry:
    """One Envoy route with the Gateway API precedence key of the match that produced it."""

    key: MatchKey
    route: JsonObj


def match_key(match: JsonObj) -> tuple[int, int, int, int, int]:
    """Exact path, then RegularExpression, then longest PathPrefix; then method, headers, query.

    The spec leaves regular expressions' rank to implementations; we follow Envoy Gateway.
    """
    path = match.get("path") or DEFAULT_MATCH["path"]
    return (
        _PATH_RANK.get(str(path.get("type", "PathPrefix")), 2),
        -len(str(path.get("value", "/"))),
        0 if match.get("method") else 1,
        -len(match.get("headers") or []),
        -len(match.get("queryParams") or []),
    )


def _string_match(kind: str | None, value: str) -> JsonObj:
    if kind == "RegularExpression":
        return {"safe_regex": {"regex": value}}
    return {"exact": value}


def envoy_match(match: JsonObj) -> JsonObj:
    path = match.get("path") or DEFAULT_MATCH["path"]
    kind, value = str(path.get("type", "PathPrefix")), str(path.get("value", "/"))
    out: JsonObj
    if kind == "Exact":
        out = {"path": value}
    elif kind == "RegularExpression":
        out = {"safe_regex": {"regex": value}}
    elif value.rstrip("/") == "":
        out = {"prefix": "/"}
    else:  # Gateway API prefixes match whole path segments; a trailing slash is ignored
        out = {"path_separated_prefix": value.rstrip("/")}
    headers = [
        {"name": str(h["name"]).lower(), "string_match": _string_match(h.get("type"), h["value"])}
        for h in match.get("headers") or []
    ]
    if match.get("method"):
        headers.append({"name": ":method", "string_match": {"exact": match["method"]}})
    if headers:
        out["headers"] = headers
    query = [
        {"name": q["name"], "string_match": _string_match(q.get("type"), q["value"])}
        for q in match.get("queryParams") or []
    ]
    if query:
        out["query_parameters"] = query
    return out


def envoy_action(world: World, route_ns: str, rule: JsonObj) -> JsonObj:
    """`route` with weighted clusters, or a 500 when no backend can take a request."""
    weights: dict[str, int] = {}
    for ref in rule.get("backendRefs") or []:
        backend = resolve(world, route_ns, ref)
        cluster = backend.cluster or INVALID_BACKEND_CLUSTER
        weights[cluster] = weights.get(cluster, 0) + backend.weight
    if not any(w > 0 and c != INVALID_BACKEND_CLUSTER for c, w in weights.items()):
        return {"direct_response": {"status": 500}}
    clusters = [{"name": c, "weight": w} for c, w in weights.items()]
    return {"route": {"weighted_clusters": {"clusters": clusters}}}


def _header_fields(filters: list[JsonObj]) -> JsonObj:
    out: JsonObj = {}
    for flt in filters:
        kind = flt.get("type")
        if kind not in MAPPED_FILTERS:
            continue
        side = "request" if kind == "RequestHeaderModifier" else "response"
        spec = flt.get("requestHeaderModifier" if side == "request" else "responseHeaderModifier")
        spec = spec or {}
        adds = out.setdefault(f"{side}_headers_to_add", [])
        for action, items in (
            ("OVERWRITE_IF_EXISTS_OR_ADD", "set"),
            ("APPEND_IF_EXISTS_OR_ADD", "add"),
        ):
            adds += [
                {"header": {"key": h["name"], "value": h["value"]}, "append_action": action}
                for h in spec.get(items) or []
            ]
        out.setdefault(f"{side}_headers_to_remove", []).extend(spec.get("remove") or [])
    return {k: v for k, v in out.items() if v}


def ignored_filters(route: JsonObj) -> list[str]:
    """Filters this sandbox cannot map; the rule still routes, and the status says so."""
    found: list[str] = []
    for i, rule in enumerate(route.get("spec", {}).get("rules") or []):
        found += [
            f"{f.get('type')} (rule {i})"
            for f in rule.get("filters") or []
            if f.get("type") not in MAPPED_FILTERS
        ]
        found += [
            f"backendRef {f.get('type')} (rule {i})"
            for ref in rule.get("backendRefs") or []
            for f in ref.get("filters") or []
        ]
    return found


def route_entries(world: World, route: JsonObj) -> list[Entry]:
    """Every (rule, match) of one HTTPRoute as an Envoy route, keyed for precedence."""
    namespace, name = key_of(route)
    created = str(route.get("metadata", {}).get("creationTimestamp", ""))
    entries = []
    for i, rule in enumerate(route.get("spec", {}).get("rules") or []):
        action = envoy_action(world, namespace, rule)
        extra = _header_fields(rule.get("filters") or [])
        for j, match in enumerate(rule.get("matches") or [DEFAULT_MATCH]):
            envoy_route = {
                "name": f"{namespace}/{name}/rule/{i}/match/{j}",
                "match": envoy_match(match),
                **action,
                **extra,
            }
            key = (*match_key(match), created, f"{namespace}/{name}", i, j)
            entries.append(Entry(key, envoy_route))
    return entries

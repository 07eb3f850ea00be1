"""The guarded JSON Patches are the router's only writes: they touch the managed weights only."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from harness.jsonpatch import PatchTestFailed, apply_patch
from harness.values import CANARY, STABLE
from hypothesis import given
from hypothesis import strategies as st
from routerkit import ref, route, rule

from canary.routers import (
    BackendKey,
    InvalidWeightError,
    RouteShapeError,
    managed_rules,
    rewrite_patch,
    weight_patch,
)

pytestmark = pytest.mark.unit



def patch_weights(
    r: dict[str, Any], weight: int, names: list[str] | None = None
) -> list[dict[str, Any]]:
    return weight_patch(r, stable=STABLE, canary=CANARY, rule_names=names, canary_weight=weight)


def test_the_patch_sets_both_weights_guarded_by_resource_version_and_ref_identity() -> None:
    r = route(rule(ref("other")), rule(ref("web-stable", weight=100), ref("web-canary", weight=0)))
    assert patch_weights(r, 10) == [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "100"},
        {"op": "test", "path": "/spec/rules/1/backendRefs/0/name", "value": "web-stable"},
        {"op": "test", "path": "/spec/rules/1/backendRefs/0/port", "value": 80},
        {"op": "test", "path": "/spec/rules/1/backendRefs/1/name", "value": "web-canary"},
        {"op": "test", "path": "/spec/rules/1/backendRefs/1/port", "value": 80},
        {"op": "add", "path": "/spec/rules/1/backendRefs/0/weight", "value": 90},
        {"op": "add", "path": "/spec/rules/1/backendRefs/1/weight", "value": 10},
    ]


def test_the_same_weights_again_produce_no_patch() -> None:
    r = route(rule(ref("web-stable", weight=75), ref("web-canary", weight=25)))
    assert patch_weights(r, 25) == []


def test_an_absent_weight_counts_as_one_so_fifty_fifty_needs_a_write_but_one_to_one_does_not() -> (
    None
):
    r = route(rule(ref("web-stable"), ref("web-canary")))
    patched = apply_patch(r, patch_weights(r, 50))
    assert [b["weight"] for b in patched["spec"]["rules"][0]["backendRefs"]] == [50, 50]


def test_only_changed_weights_are_written_but_both_refs_are_guarded() -> None:
    r = route(rule(ref("web-stable", weight=100), ref("web-canary", weight=5)))
    patch = patch_weights(r, 0)
    assert [op for op in patch if op["op"] == "add"] == [
        {"op": "add", "path": "/spec/rules/0/backendRefs/1/weight", "value": 0}
    ]
    assert sum(1 for op in patch if op["path"].endswith("/name")) == 2


@pytest.mark.parametrize("weight", [-1, 101, 2.5, "10", True, None])
def test_weights_outside_zero_to_a_hundred_or_not_integers_are_refused(weight: Any) -> None:
    r = route(rule(ref("web-stable"), ref("web-canary")))
    with pytest.raises(InvalidWeightError):
        patch_weights(r, weight)


def test_a_route_without_both_backends_is_refused_with_the_reason() -> None:
    with pytest.raises(RouteShapeError, match="web-canary"):
        patch_weights(route(rule(ref("web-stable"))), 10)


def test_a_route_without_resource_version_is_refused() -> None:
    r = route(rule(ref("web-stable"), ref("web-canary")))
    del r["metadata"]["resourceVersion"]
    with pytest.raises(RouteShapeError, match="resourceVersion"):
        patch_weights(r, 10)


def test_a_reordered_route_fails_the_identity_guards() -> None:
    r = route(rule(ref("web-stable", weight=100), ref("web-canary", weight=0)))
    patch = patch_weights(r, 20)
    reordered = copy.deepcopy(r)
    reordered["spec"]["rules"][0]["backendRefs"].reverse()
    with pytest.raises(PatchTestFailed, match="backendRefs/0/name"):
        apply_patch(reordered, [op for op in patch if op["path"] != "/metadata/resourceVersion"])


def test_a_cross_namespace_canary_is_guarded_by_its_namespace_too() -> None:
    elsewhere = BackendKey("web-canary", 80, "canary-ns")
    r = route(rule(ref("web-stable", weight=100), ref("web-canary", weight=0,
                                                      namespace="canary-ns")))
    patch = weight_patch(r, stable=STABLE, canary=elsewhere, rule_names=None, canary_weight=20)
    guard = {"op": "test", "path": "/spec/rules/0/backendRefs/1/namespace", "value": "canary-ns"}
    assert guard in patch
    moved = copy.deepcopy(r)
    moved["spec"]["rules"][0]["backendRefs"][1]["namespace"] = "other-ns"
    with pytest.raises(PatchTestFailed, match="backendRefs/1/namespace"):
        apply_patch(moved, [op for op in patch if op["path"] != "/metadata/resourceVersion"])
    applied = apply_patch(copy.deepcopy(r), patch)
    weights = [b["weight"] for b in applied["spec"]["rules"][0]["backendRefs"]]
    assert weights == [80, 20]


def test_a_route_changed_since_it_was_read_fails_the_resource_version_guard() -> None:
    r = route(rule(ref("web-stable", weight=100), ref("web-canary", weight=0)))
    patch = patch_weights(r, 20)
    newer = copy.deepcopy(r)
    newer["metadata"]["resourceVersion"] = "101"
    with pytest.raises(PatchTestFailed, match="resourceVersion"):
        apply_patch(newer, patch)


def test_rewrite_drops_the_stable_ref_and_gives_the_canary_a_hundred() -> None:
    r = route(
        rule(
            ref("web-stable", weight=0),
            ref("mirror", weight=0),
            ref("web-canary", weight=100),
            name="main",
        ),
        rule(ref("other")),
    )
    patched = apply_patch(r, rewrite_patch(r, stable=STABLE, canary=CANARY, rule_names=None))
    assert patched["spec"]["rules"][0]["backendRefs"] == [
        ref("mirror", weight=0),
        ref("web-canary", weight=100),
    ]
    assert patched["spec"]["rules"][1] == r["spec"]["rules"][1]


def test_rewrite_fixes_the_canary_weight_before_removing_the_stable_ref_that_precedes_it() -> None:
    r = route(rule(ref("web-stable", weight=60), ref("web-canary", weight=40)))
    patch = rewrite_patch(r, stable=STABLE, canary=CANARY, rule_names=None)
    assert [op["op"] for op in patch if op["op"] != "test"] == ["add", "remove"]
    patched = apply_patch(r, patch)
    assert patched["spec"]["rules"][0]["backendRefs"] == [ref("web-canary", weight=100)]


def test_rewrite_of_a_rewritten_route_writes_nothing() -> None:
    r = route(rule(ref("web-canary", weight=100), name="main"))
    assert rewrite_patch(r, stable=STABLE, canary=CANARY, rule_names=["main"]) == []
    assert rewrite_patch(r, stable=STABLE, canary=CANARY, rule_names=None) == []


def test_rewrite_of_a_named_rule_without_the_canary_is_refused() -> None:
    r = route(rule(ref("web-stable"), name="main"))
    with pytest.raises(RouteShapeError, match="canary"):
        rewrite_patch(r, stable=STABLE, canary=CANARY, rule_names=["main"])


# --- property: a patch changes nothing but the two managed weights ----------------------------

_OTHERS = ["api", "mirror", "legacy"]
_refs = st.lists(
    st.sampled_from(["web-stable", "web-canary", *_OTHERS]), unique=True, max_size=5
).flatmap(
    lambda names: st.tuples(
        *[
            st.builds(
                ref,
                st.just(n),
                port=st.sampled_from([80, 8080])
                if n not in ("web-stable", "web-canary")
                else st.sampled_from([80, 80, 81]),
                weight=st.none() | st.integers(0, 1000),
            )
            for n in names
        ]
    )
)
_rule = st.builds(
    lambda refs, name, filters, matches: {
        "backendRefs": list(refs),
        **({"name": name} if name else {}),
        **({"filters": filters} if filters else {}),
        **({"matches": matches} if matches else {}),
    },
    _refs,
    st.none() | st.sampled_from(["main", "beta", "admin"]),
    st.lists(
        st.fixed_dictionaries(
            {
                "type": st.just("RequestHeaderModifier"),
                "requestHeaderModifier": st.fixed_dictionaries(
                    {"set": st.just([{"name": "x", "value": "1"}])}
                ),
            }
        ),
        max_size=1,
    ),
    st.lists(
        st.fixed_dictionaries(
            {
                "path": st.fixed_dictionaries(
                    {"type": st.just("PathPrefix"), "value": st.sampled_from(["/", "/api"])}
                )
            }
        ),
        max_size=2,
    ),
)


@st.composite
def _routes(draw: st.DrawFn) -> dict[str, Any]:
    rules = draw(st.lists(_rule, min_size=1, max_size=5))
    seen: set[str] = set()
    for r in rules:  # rule names are unique within a route
        if r.get("name") in seen:
            del r["name"]
        elif r.get("name"):
            seen.add(r["name"])
    body = route(*rules, resource_version=str(draw(st.integers(1, 10**6))))
    body["metadata"]["annotations"] = draw(
        st.dictionaries(st.sampled_from(["a", "b/c"]), st.text(max_size=5))
    )
    body["metadata"]["labels"] = draw(
        st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["x", "y"]))
    )
    return body


def _without_managed_weights(r: dict[str, Any], managed: list[int]) -> dict[str, Any]:
    stripped = copy.deepcopy(r)
    for index in managed:
        for b in stripped["spec"]["rules"][index]["backendRefs"]:
            if b["name"] in ("web-stable", "web-canary") and b["port"] == 80:
                b.pop("weight", None)
    return stripped


@given(_routes(), st.integers(0, 100))
def test_a_weight_patch_changes_only_the_two_managed_weights_which_sum_to_a_hundred(
    r: dict[str, Any], weight: int
) -> None:
    managed = managed_rules(r, stable=STABLE, canary=CANARY, rule_names=None)
    try:
        patch = patch_weights(r, weight)
    except RouteShapeError:
        assert not managed
        return
    patched = apply_patch(r, patch)
    assert _without_managed_weights(patched, managed) == _without_managed_weights(r, managed)
    for index in managed:
        refs = {
            b["name"]: b for b in patched["spec"]["rules"][index]["backendRefs"] if b["port"] == 80
        }
        assert refs["web-stable"].get("weight", 1) + refs["web-canary"].get("weight", 1) == 100
        assert refs["web-canary"].get("weight", 1) == weight
    assert patch_weights(patched, weight) == []  # applying it again is a no-op


@given(_routes())
def test_a_rewrite_patch_removes_only_the_managed_stable_refs(r: dict[str, Any]) -> None:
    managed = managed_rules(r, stable=STABLE, canary=CANARY, rule_names=None)
    patched = apply_patch(r, rewrite_patch(r, stable=STABLE, canary=CANARY, rule_names=None))
    assert patched["metadata"] == r["metadata"]
    for index, (before, after) in enumerate(
        zip(r["spec"]["rules"], patched["spec"]["rules"], strict=True)
    ):
        if index not in managed:
            assert after == before
            continue
        kept = [
            b for b in before["backendRefs"] if not (b["name"] == "web-stable" and b["port"] == 80)
        ]
        assert [b["name"] for b in after["backendRefs"]] == [b["name"] for b in kept]
        assert {k: v for k, v in after.items() if k != "backendRefs"} == {
            k: v for k, v in before.items() if k != "backendRefs"
        }

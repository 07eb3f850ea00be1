"""Which rules the router manages, and the weights it reads from them."""

from __future__ import annotations

from typing import Any

import pytest
from routerkit import ref, route, rule

from canary.core.observations import RouteProblem, RuleWeights
from canary.routers import BackendKey, managed_rules
from canary.routers.rules import find_managed, rule_weights

pytestmark = pytest.mark.unit

STABLE = BackendKey("web-stable", 80)
CANARY = BackendKey("web-canary", 80)


@pytest.mark.parametrize(
    ("rules", "rule_names", "expected"),
    [
        pytest.param(
            [rule(ref("web-stable"), ref("web-canary"))], None, [0], id="one-rule-with-both"
        ),
        pytest.param(
            [rule(ref("other")), rule(ref("web-canary"), ref("web-stable"), ref("mirror"))],
            None,
            [1],
            id="only-rules-holding-both-in-any-order",
        ),
        pytest.param(
            [rule(ref("web-stable")), rule(ref("web-canary"))],
            None,
            [],
            id="backends-split-across-rules-are-not-managed",
        ),
        pytest.param(
            [rule(ref("web-stable", port=8080), ref("web-canary"))],
            None,
            [],
            id="a-different-port-is-a-different-backend",
        ),
        pytest.param(
            [
                rule(
                    ref("web-stable", namespace="app", group="", kind="Service"),
                    ref("web-canary", group="core"),
                )
            ],
            None,
            [0],
            id="server-defaults-and-core-group-match",
        ),
        pytest.param(
            [rule(ref("web-stable", namespace="elsewhere"), ref("web-canary"))],
            None,
            [],
            id="an-explicit-other-namespace-does-not-match",
        ),
        pytest.param(
            [rule(ref("web-stable", kind="Backend", group="example.com"), ref("web-canary"))],
            None,
            [],
            id="a-non-service-kind-does-not-match",
        ),
        pytest.param(
            [
                rule(ref("web-stable"), ref("web-canary"), name="main"),
                rule(ref("web-stable"), ref("web-canary"), name="beta"),
            ],
            ["beta"],
            [1],
            id="rule-names-pick-exactly-those-rules",
        ),
        pytest.param(
            [rule(ref("web-stable"), ref("web-canary"), name="main")],
            [],
            [0],
            id="empty-rule-names-means-not-given",
        ),
    ],
)
def test_managed_rules_are_the_rules_holding_both_backends_or_the_named_ones(
    rules: list[dict[str, Any]], rule_names: list[str] | None, expected: list[int]
) -> None:
    assert (
        managed_rules(route(*rules), stable=STABLE, canary=CANARY, rule_names=rule_names)
        == expected
    )


def test_a_backend_in_another_namespace_matches_when_the_key_names_that_namespace() -> None:
    stable = BackendKey("web-stable", 80, namespace="shared")
    r = route(rule(ref("web-stable", namespace="shared"), ref("web-canary")))
    assert managed_rules(r, stable=stable, canary=CANARY, rule_names=None) == [0]


def test_no_rule_with_both_backends_is_an_actionable_issue() -> None:
    r = route(rule(ref("web-stable")), name="shop")
    _, issues = find_managed(r, stable=STABLE, canary=CANARY, rule_names=None)
    assert [i.problem for i in issues] == [RouteProblem.BACKENDS_NOT_IN_ROUTE]
    assert "HTTPRoute app/shop" in issues[0].message
    assert "app/web-canary port 80" in issues[0].message


def test_a_named_rule_missing_the_canary_is_an_issue_naming_rule_and_backend() -> None:
    r = route(rule(ref("web-stable"), name="main"))
    managed, issues = find_managed(r, stable=STABLE, canary=CANARY, rule_names=["main"])
    assert [m.index for m in managed] == [0]
    assert len(issues) == 1
    assert (
        "rule 'main'" in issues[0].message and "canary Service app/web-canary" in issues[0].message
    )


def test_a_rule_name_that_does_not_exist_lists_the_named_rules() -> None:
    r = route(rule(ref("web-stable"), ref("web-canary"), name="main"))
    _, issues = find_managed(r, stable=STABLE, canary=CANARY, rule_names=["mian"])
    assert len(issues) == 1
    assert "'mian'" in issues[0].message and "named rules: main" in issues[0].message


def test_a_backend_listed_twice_in_a_managed_rule_is_an_issue() -> None:
    r = route(rule(ref("web-stable"), ref("web-canary"), ref("web-stable", weight=5)))
    _, issues = find_managed(r, stable=STABLE, canary=CANARY, rule_names=None)
    assert len(issues) == 1 and "2 times" in issues[0].message


def test_weights_are_read_per_managed_rule_and_a_missing_weight_counts_as_one() -> None:
    r = route(
        rule(ref("other", weight=7)),
        rule(ref("web-stable", weight=90), ref("web-canary", weight=10), name="main"),
        rule(ref("web-canary"), ref("web-stable")),
    )
    managed, _ = find_managed(r, stable=STABLE, canary=CANARY, rule_names=None)
    assert rule_weights(r, managed) == (
        RuleWeights(index=1, name="main", stable=90, canary=10),
        RuleWeights(index=2, name=None, stable=1, canary=1),
    )

"""The router's writes on the real API server: only the two managed weights ever change."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
from typing import Any

import pytest
from harness.interleave import Interleaved
from harness.values import CANARY, STABLE

from canary.kube.client import Kube
from canary.kube.errors import Invalid
from canary.kube.resources import GRPCROUTE, HTTPROUTE, JsonObj, Resource
from canary.routers import (
    GatewayApiRouter,
    InvalidWeightError,
    RouteChangedUnderDecisionError,
    RouteContendedError,
    RouteKey,
    RouteNotFoundError,
    RoutePatchRejectedError,
    RouteTarget,
    weight_patch,
)

pytestmark = pytest.mark.integration



def shop_route(namespace: str) -> JsonObj:
    """A route as a user writes it: an extra rule, a filter, an unmanaged ref, metadata."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": "shop",
            "namespace": namespace,
            "labels": {"team": "payments"},
            "annotations": {"example.com/owner": "alice", "example.com/ticket": "OPS-1"},
        },
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "hostnames": ["shop.example.com"],
            "rules": [
                {
                    "name": "static",
                    "matches": [{"path": {"type": "PathPrefix", "value": "/static"}}],
                    "backendRefs": [{"name": "cdn", "port": 80}],
                },
                {
                    "name": "api",
                    "matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {"set": [{"name": "x-env", "value": "prod"}]},
                        }
                    ],
                    "backendRefs": [
                        {"name": "web-stable", "port": 80, "weight": 100},
                        {"name": "shadow", "port": 8080, "weight": 0},
                        {"name": "web-canary", "port": 80, "weight": 0},
                    ],
                },
            ],
        },
    }


def target(namespace: str, name: str = "shop", kind: str = "HTTPRoute") -> RouteTarget:
    return RouteTarget(RouteKey(namespace, name, kind), STABLE, CANARY)


def weights(route: JsonObj, rule: int = 1) -> dict[str, int]:
    return {b["name"]: b["weight"] for b in route["spec"]["rules"][rule]["backendRefs"]}


def comparable(route: JsonObj) -> JsonObj:
    """The object minus what a weight write legitimately changes."""
    body = copy.deepcopy(route)
    for key in ("resourceVersion", "managedFields", "generation"):
        body["metadata"].pop(key, None)
    for ref in body["spec"]["rules"][1]["backendRefs"]:
        if ref["name"] in ("web-stable", "web-canary"):
            ref.pop("weight")
    return body


async def user_json_patch(control_plane: Any, namespace: str, ops: list[JsonObj]) -> None:
    """What a person does from a terminal: `kubectl patch --type=json` on the route."""
    args = ["-n", namespace, "patch", "httproute", "shop", "--type=json", f"-p={json.dumps(ops)}"]
    await asyncio.to_thread(control_plane.kubectl, *args)


async def create(kube: Kube, body: JsonObj) -> JsonObj:
    return await kube.create(HTTPROUTE, body, body["metadata"]["namespace"])


async def test_set_weights_changes_only_the_two_managed_weights(kube: Kube, namespace: str) -> None:
    before = await create(kube, shop_route(namespace))
    wrote = await GatewayApiRouter(kube).set_weights(target(namespace), canary_weight=10)
    after = await kube.get(HTTPROUTE, "shop", namespace)
    assert wrote
    assert weights(after) == {"web-stable": 90, "shadow": 0, "web-canary": 10}
    assert comparable(after) == comparable(before)


async def test_setting_the_same_weight_again_writes_nothing(kube: Kube, namespace: str) -> None:
    await create(kube, shop_route(namespace))
    router = GatewayApiRouter(kube)
    await router.set_weights(target(namespace), canary_weight=25)
    version = (await kube.get(HTTPROUTE, "shop", namespace))["metadata"]["resourceVersion"]
    assert not await router.set_weights(target(namespace), canary_weight=25)
    after = await kube.get(HTTPROUTE, "shop", namespace)
    assert after["metadata"]["resourceVersion"] == version


async def test_a_user_edit_between_read_and_write_survives_and_the_raise_is_decided_again(
    kube: Kube, namespace: str, control_plane: Any
) -> None:
    await create(kube, shop_route(namespace))
    user_edit = [
        {
            "op": "add",
            "path": "/spec/rules/0/matches/-",
            "value": {"path": {"type": "Exact", "value": "/favicon.ico"}},
        }
    ]

    async def user_edits_once(attempt: int) -> None:
        if attempt == 1:
            await user_json_patch(control_plane, namespace, user_edit)

    api = Interleaved(kube, user_edits_once)
    # More traffic for the canary is never re-applied on a route its decision did not see.
    with pytest.raises(RouteChangedUnderDecisionError) as raised:
        await GatewayApiRouter(api).set_weights(target(namespace), canary_weight=30)
    assert api.outcomes == ["Invalid"]  # the guard caught the race
    fresh: JsonObj = raised.value.route
    assert fresh["spec"]["rules"][0]["matches"][-1] == user_edit[0]["value"]
    assert weights(fresh) == {"web-stable": 100, "shadow": 0, "web-canary": 0}
    # The next pass decides again on the fresh route; the user's edit survives.
    assert await GatewayApiRouter(kube).set_weights(
        target(namespace), canary_weight=30, route=fresh
    )
    after = await kube.get(HTTPROUTE, "shop", namespace)
    assert after["spec"]["rules"][0]["matches"][-1] == user_edit[0]["value"]
    assert weights(after) == {"web-stable": 70, "shadow": 0, "web-canary": 30}


async def test_a_write_towards_stable_is_retried_on_the_fresh_route(
    kube: Kube, namespace: str, control_plane: Any
) -> None:
    await create(kube, shop_route(namespace))
    await GatewayApiRouter(kube).set_weights(target(namespace), canary_weight=30)
    user_edit = [{"op": "add", "path": "/metadata/annotations", "value": {"team": "web"}}]

    async def user_edits_once(attempt: int) -> None:
        if attempt == 1:
            await user_json_patch(control_plane, namespace, user_edit)

    api = Interleaved(kube, user_edits_once)
    assert await GatewayApiRouter(api).set_weights(target(namespace), canary_weight=0)
    assert api.outcomes == ["Invalid", "ok"]  # a rollback is re-applied at once
    after = await kube.get(HTTPROUTE, "shop", namespace)
    assert weights(after) == {"web-stable": 100, "shadow": 0, "web-canary": 0}
    assert after["metadata"]["annotations"] == {"team": "web"}


async def test_a_reorder_of_backend_refs_is_caught_by_the_identity_test_alone(
    kube: Kube, namespace: str, control_plane: Any
) -> None:
    read = await create(kube, shop_route(namespace))
    stale = weight_patch(read, stable=STABLE, canary=CANARY, rule_names=None, canary_weight=40)
    reorder = [
        {"op": "move", "from": "/spec/rules/1/backendRefs/2", "path": "/spec/rules/1/backendRefs/0"}
    ]
    await user_json_patch(control_plane, namespace, reorder)
    reordered = await kube.get(HTTPROUTE, "shop", namespace)
    without_version_guard = [op for op in stale if op["path"] != "/metadata/resourceVersion"]
    with pytest.raises(Invalid):
        await kube.patch(
            HTTPROUTE, "shop", without_version_guard, namespace=namespace, patch_type="json"
        )
    unchanged = await kube.get(HTTPROUTE, "shop", namespace)
    assert unchanged["metadata"]["resourceVersion"] == reordered["metadata"]["resourceVersion"]

    # The router, handed the stale copy, re-reads; the raise is decided again on the fresh copy
    # and then written by identity.
    with pytest.raises(RouteChangedUnderDecisionError) as raised:
        await GatewayApiRouter(kube).set_weights(target(namespace), canary_weight=40, route=read)
    fresh = raised.value.route
    assert await GatewayApiRouter(kube).set_weights(
        target(namespace), canary_weight=40, route=fresh
    )
    after = await kube.get(HTTPROUTE, "shop", namespace)
    assert [b["name"] for b in after["spec"]["rules"][1]["backendRefs"]] == [
        "web-canary",
        "web-stable",
        "shadow",
    ]
    assert weights(after) == {"web-canary": 40, "web-stable": 60, "shadow": 0}


@pytest.mark.parametrize("bad", [-5, 101, 1000])
async def test_invalid_weights_never_reach_the_server(kube: Kube, namespace: str, bad: int) -> None:
    created = await create(kube, shop_route(namespace))
    api = Interleaved(kube)
    with pytest.raises(InvalidWeightError):
        await GatewayApiRouter(api).set_weights(target(namespace), canary_weight=bad)
    after = await kube.get(HTTPROUTE, "shop", namespace)
    assert api.patches == []
    assert after["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_rewrite_removes_the_stable_ref_and_leaves_everything_else(
    kube: Kube, namespace: str
) -> None:
    before = await create(kube, shop_route(namespace))
    router = GatewayApiRouter(kube)
    assert await router.rewrite(target(namespace))
    after = await kube.get(HTTPROUTE, "shop", namespace)
    assert after["spec"]["rules"][1]["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "shadow", "port": 8080, "weight": 0},
        {"group": "", "kind": "Service", "name": "web-canary", "port": 80, "weight": 100},
    ]
    assert after["spec"]["rules"][0] == before["spec"]["rules"][0]
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]
    assert after["metadata"]["labels"] == before["metadata"]["labels"]
    assert not await router.rewrite(target(namespace))  # already rewritten: no second write


async def test_a_missing_route_is_a_clear_error_and_is_never_created(
    kube: Kube, namespace: str
) -> None:
    with pytest.raises(RouteNotFoundError, match=f"HTTPRoute {namespace}/shop does not exist"):
        await GatewayApiRouter(kube).set_weights(target(namespace), canary_weight=10)
    assert await kube.get_or_none(HTTPROUTE, "shop", namespace) is None


async def test_a_route_deleted_during_the_write_is_a_clear_error_and_stays_deleted(
    kube: Kube, namespace: str
) -> None:
    await create(kube, shop_route(namespace))

    async def user_deletes(attempt: int) -> None:
        await kube.delete(HTTPROUTE, "shop", namespace)

    with pytest.raises(RouteNotFoundError):
        await GatewayApiRouter(Interleaved(kube, user_deletes)).set_weights(
            target(namespace), canary_weight=10
        )
    assert await kube.get_or_none(HTTPROUTE, "shop", namespace) is None


async def test_a_route_that_changes_before_every_write_is_given_up_after_bounded_attempts(
    kube: Kube, namespace: str
) -> None:
    await create(kube, shop_route(namespace))
    await GatewayApiRouter(kube).set_weights(target(namespace), canary_weight=10)

    async def someone_always_writes(attempt: int) -> None:
        patch = {"metadata": {"annotations": {"example.com/touched": str(attempt)}}}
        await kube.patch(HTTPROUTE, "shop", patch, namespace=namespace)

    api = Interleaved(kube, someone_always_writes)
    with pytest.raises(RouteContendedError):
        await GatewayApiRouter(api, attempts=3).set_weights(target(namespace), canary_weight=0)
    after = await kube.get(HTTPROUTE, "shop", namespace)
    assert api.outcomes == ["Invalid"] * 3
    assert weights(after) == {"web-stable": 90, "shadow": 0, "web-canary": 10}


async def test_grpcroute_weights_are_set_by_the_same_router(kube: Kube, namespace: str) -> None:
    body: dict[str, Any] = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GRPCRoute",
        "metadata": {"name": "rpc", "namespace": namespace},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "rules": [
                {
                    "matches": [{"method": {"service": "shop.Cart"}}],
                    "backendRefs": [
                        {"name": "web-stable", "port": 80, "weight": 100},
                        {"name": "web-canary", "port": 80, "weight": 0},
                    ],
                }
            ],
        },
    }
    created = await kube.create(GRPCROUTE, body, namespace)
    router = GatewayApiRouter(kube, resource=GRPCROUTE)
    assert await router.set_weights(target(namespace, "rpc", "GRPCRoute"), canary_weight=5)
    after = await kube.get(GRPCROUTE, "rpc", namespace)
    assert weights(after, 0) == {"web-stable": 95, "web-canary": 5}
    assert after["spec"]["rules"][0]["matches"] == created["spec"]["rules"][0]["matches"]


POLICY = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicies",
    "ValidatingAdmissionPolicy",
    namespaced=False,
)
BINDING = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicybindings",
    "ValidatingAdmissionPolicyBinding",
    namespaced=False,
)


async def test_a_patch_refused_without_a_concurrent_change_is_reported_and_not_retried(
    kube: Kube, namespace: str
) -> None:
    await create(kube, shop_route(namespace))
    probe = shop_route(namespace)
    probe["metadata"]["name"] = "probe"
    await create(kube, probe)
    name = f"freeze-{namespace}"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["gateway.networking.k8s.io"],
                        "apiVersions": ["v1"],
                        "operations": ["UPDATE"],
                        "resources": ["httproutes"],
                    }
                ]
            },
            "validations": [
                {"expression": "object.spec == oldObject.spec", "message": "route spec is frozen"}
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
    await kube.create(POLICY, policy)
    await kube.create(BINDING, binding)
    try:
        await _until_policy_denies(kube, namespace)
        api = Interleaved(kube)
        with pytest.raises(RoutePatchRejectedError, match="route spec is frozen"):
            await GatewayApiRouter(api).set_weights(target(namespace), canary_weight=10)
        assert api.outcomes == ["Invalid"]  # one refusal, one fresh read, no blind retries
    finally:
        await kube.delete(BINDING, name)
        await kube.delete(POLICY, name)


async def _until_policy_denies(kube: Kube, namespace: str) -> None:
    """A new admission policy takes effect once the server has loaded it: probe until it has."""
    async with asyncio.timeout(20):
        for attempt in itertools.count():
            body = {"spec": {"hostnames": [f"probe-{attempt % 2}.example.com"]}}
            try:
                await kube.patch(HTTPROUTE, "probe", body, namespace=namespace)
            except Invalid as exc:
                assert "route spec is frozen" in str(exc)
                return
            await asyncio.sleep(0.2)

"""The status the sandbox gateway writes, read back from the real API server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from harness.gateway import (
    backend,
    gateway,
    gateway_programmed,
    http_route,
    listener,
    route_conditions,
)
from harness.sandbox_gateway import Sandbox, route_accepted, route_reports
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.resources import (
    GATEWAY,
    GATEWAYCLASS,
    HTTPROUTE,
    NAMESPACE,
    REFERENCEGRANT,
    JsonObj,
)
from canary.sandbox.demoapp import DemoApp
from canary.sandbox.gateway import register_backend
from canary.sandbox.loadgen import send

pytestmark = pytest.mark.integration


@pytest.fixture
async def other_namespace(kube: Kube) -> AsyncIterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    await kube.create(
        NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    )
    yield name
    await kube.delete(NAMESPACE, name)


def _route(
    namespace: str, gateway_namespace: str, rules: list[JsonObj], **kw: object
) -> JsonObj:
    return http_route(
        namespace,
        "app",
        parent={"name": "gw", "namespace": gateway_namespace, **kw},
        rules=rules,
    )


def _in_cache(sandbox: Sandbox, namespace: str, service: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (namespace, service) in sandbox.controller.world().services

    return check


async def test_an_attached_route_is_accepted_and_counted_on_a_programmed_gateway(
    kube: Kube, sandbox: Sandbox, namespace: str
) -> None:
    await register_backend(kube, namespace, "app", 80, 1)
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    rules = [{"backendRefs": [backend("app")]}]
    await kube.create(HTTPROUTE, _route(namespace, namespace, rules), namespace)

    accepted = await route_reports(kube, sandbox, namespace, "Accepted", "True", "Accepted")
    resolved = (await route_conditions(kube, namespace, "app", sandbox.controller_name) or {})[
        "ResolvedRefs"
    ]
    assert resolved["status"] == "True"
    assert accepted["observedGeneration"] == 1
    gw = await gateway_programmed(kube, namespace, "gw")
    assert gw["status"]["listeners"][0]["attachedRoutes"] == 1
    assert gw["status"]["addresses"] == [{"type": "IPAddress", "value": "127.0.0.1"}]
    cls = await kube.get(GATEWAYCLASS, sandbox.class_name)
    assert {c["type"]: c["status"] for c in cls["status"]["conditions"]}["Accepted"] == "True"


async def test_a_listener_with_an_unsupported_protocol_is_reported_and_the_others_serve(
    kube: Kube, sandbox: Sandbox, namespace: str
) -> None:
    listeners = [listener(), listener("tcp", 9000, protocol="TCP")]
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name, listeners), namespace)

    gw = await gateway_programmed(kube, namespace, "gw")

    by_name = {lst["name"]: lst for lst in gw["status"]["listeners"]}
    tcp = {c["type"]: (c["status"], c["reason"]) for c in by_name["tcp"]["conditions"]}
    assert tcp["Accepted"] == ("False", "UnsupportedProtocol")
    http = {c["type"]: (c["status"], c["reason"]) for c in by_name["http"]["conditions"]}
    assert http["Programmed"] == ("True", "Programmed")
    accepted = {c["type"]: c["reason"] for c in gw["status"]["conditions"]}["Accepted"]
    assert accepted == "ListenersNotValid"
    # A route that asks for the TCP listener only: no listener it selects can take it.
    rules = [{"backendRefs": [backend("app")]}]
    await kube.create(HTTPROUTE, _route(namespace, namespace, rules, sectionName="tcp"), namespace)
    await route_reports(kube, sandbox, namespace, "Accepted", "False", "NotAllowedByListeners")


async def test_a_route_from_a_namespace_the_listener_does_not_allow_is_not_accepted(
    kube: Kube, sandbox: Sandbox, namespace: str, other_namespace: str
) -> None:
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    rules = [{"backendRefs": [backend("app")]}]
    await kube.create(HTTPROUTE, _route(other_namespace, namespace, rules), other_namespace)

    await route_reports(
        kube, sandbox, other_namespace, "Accepted", "False", "NotAllowedByListeners"
    )

    # A selector that admits the route's namespace once it carries the label.
    selector = {"from": "Selector", "selector": {"matchLabels": {"gateway-access": "true"}}}
    patch = {"spec": {"listeners": [listener(allowed=selector)]}}
    await kube.patch(GATEWAY, "gw", patch, namespace=namespace)
    await kube.patch(
        NAMESPACE, other_namespace, {"metadata": {"labels": {"gateway-access": "true"}}}
    )
    await route_reports(kube, sandbox, other_namespace, "Accepted", "True", "Accepted")


async def test_a_route_to_a_missing_service_has_unresolved_refs_and_answers_500(
    kube: Kube, sandbox: Sandbox, namespace: str
) -> None:
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    rules = [{"backendRefs": [backend("missing")]}]
    await kube.create(HTTPROUTE, _route(namespace, namespace, rules), namespace)

    cond = await route_reports(kube, sandbox, namespace, "ResolvedRefs", "False", "BackendNotFound")
    assert "missing" in cond["message"]
    async with asyncio.timeout(30):
        url = await sandbox.controller.wait_for_url(namespace, "gw", 80)
    tally = await send(url, 20)
    assert dict(tally.by_status) == {500: 20}


async def test_a_cross_namespace_backend_needs_a_reference_grant(
    kube: Kube,
    sandbox: Sandbox,
    namespace: str,
    other_namespace: str,
    apps: tuple[DemoApp, DemoApp],
) -> None:
    await register_backend(kube, other_namespace, "app", 80, apps[1].port)
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    rules = [{"backendRefs": [backend("app", namespace=other_namespace)]}]
    await kube.create(HTTPROUTE, _route(namespace, namespace, rules), namespace)
    await route_reports(kube, sandbox, namespace, "ResolvedRefs", "False", "RefNotPermitted")

    grant = {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "routes-from-app", "namespace": other_namespace},
        "spec": {
            "from": [
                {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": namespace}
            ],
            "to": [{"group": "", "kind": "Service"}],
        },
    }
    await kube.create(REFERENCEGRANT, grant, other_namespace)
    await route_reports(kube, sandbox, namespace, "ResolvedRefs", "True", "ResolvedRefs")
    async with asyncio.timeout(30):
        url = await sandbox.controller.wait_for_url(namespace, "gw", 80)

    async def served_by_v2() -> bool:
        return dict((await send(url, 10)).by_version) == {"v2": 10}

    await eventually(served_by_v2, what="requests reaching the other namespace's backend")


async def test_a_parent_ref_to_an_unknown_listener_gets_no_matching_parent(
    kube: Kube, sandbox: Sandbox, namespace: str
) -> None:
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    rules = [{"backendRefs": [backend("app")]}]
    await kube.create(HTTPROUTE, _route(namespace, namespace, rules, sectionName="nope"), namespace)
    await route_reports(kube, sandbox, namespace, "Accepted", "False", "NoMatchingParent")


async def test_a_route_whose_hostnames_miss_the_listener_gets_no_matching_listener_hostname(
    kube: Kube, sandbox: Sandbox, namespace: str
) -> None:
    listeners = [listener(hostname="*.example.com")]
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name, listeners), namespace)
    route = _route(namespace, namespace, [{"backendRefs": [backend("app")]}])
    route["spec"]["hostnames"] = ["app.example.org"]
    await kube.create(HTTPROUTE, route, namespace)
    await route_reports(kube, sandbox, namespace, "Accepted", "False", "NoMatchingListenerHostname")


async def test_an_unchanged_world_does_not_rewrite_any_status(
    kube: Kube, sandbox: Sandbox, namespace: str
) -> None:
    await register_backend(kube, namespace, "app", 80, 1)
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    await kube.create(
        HTTPROUTE, _route(namespace, namespace, [{"backendRefs": [backend("app")]}]), namespace
    )
    await route_reports(kube, sandbox, namespace, "Accepted", "True", "Accepted")
    await gateway_programmed(kube, namespace, "gw")
    async with asyncio.timeout(30):
        await sandbox.controller.wait_synced()
    versions = {
        "route": (await kube.get(HTTPROUTE, "app", namespace))["metadata"]["resourceVersion"],
        "gateway": (await kube.get(GATEWAY, "gw", namespace))["metadata"]["resourceVersion"],
        "class": (await kube.get(GATEWAYCLASS, sandbox.class_name))["metadata"]["resourceVersion"],
    }

    # An unrelated change wakes the controller; it must find nothing to write.
    await register_backend(kube, namespace, "unrelated", 80, 2)
    await eventually(
        _in_cache(sandbox, namespace, "unrelated"), what="the controller to see the Service"
    )
    async with asyncio.timeout(30):
        await sandbox.controller.wait_synced()
    assert versions == {
        "route": (await kube.get(HTTPROUTE, "app", namespace))["metadata"]["resourceVersion"],
        "gateway": (await kube.get(GATEWAY, "gw", namespace))["metadata"]["resourceVersion"],
        "class": (await kube.get(GATEWAYCLASS, sandbox.class_name))["metadata"]["resourceVersion"],
    }


async def test_a_route_envoy_rejects_marks_the_gateway_not_programmed_and_keeps_serving(
    kube: Kube, sandbox: Sandbox, namespace: str, apps: tuple[DemoApp, DemoApp]
) -> None:
    await register_backend(kube, namespace, "app", 80, apps[0].port)
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    await kube.create(
        HTTPROUTE, _route(namespace, namespace, [{"backendRefs": [backend("app")]}]), namespace
    )
    await route_accepted(kube, sandbox, namespace)
    async with asyncio.timeout(30):
        url = await sandbox.controller.wait_for_url(namespace, "gw", 80)

    # RE2 (Envoy's regex engine) refuses an unbalanced parenthesis; the API server cannot know.
    bad = {"path": {"type": "RegularExpression", "value": "/broken(["}}
    patch = [{"op": "add", "path": "/spec/rules/0/matches", "value": [bad]}]
    await kube.patch(HTTPROUTE, "app", patch, namespace=namespace, patch_type="json")

    async def not_programmed() -> dict[str, str] | None:
        gw = await kube.get(GATEWAY, "gw", namespace)
        cond = {c["type"]: c for c in gw["status"]["conditions"]}["Programmed"]
        return cond if cond["status"] == "False" else None

    cond = await eventually(not_programmed, what="Programmed=False on the Gateway")
    assert cond["reason"] == "Invalid"
    assert "rejected" in cond["message"]
    tally = await send(url, 10)  # the previous routes still serve
    assert dict(tally.by_version) == {"v1": 10}

    # The refused config is not pushed again and again, nor the status rewritten each time.
    async with asyncio.timeout(30):
        await sandbox.controller.wait_synced()
    version = (await kube.get(GATEWAY, "gw", namespace))["metadata"]["resourceVersion"]
    await register_backend(kube, namespace, "unrelated", 80, 2)  # wake the controller
    await eventually(
        _in_cache(sandbox, namespace, "unrelated"), what="the controller to see the Service"
    )
    async with asyncio.timeout(30):
        await sandbox.controller.wait_synced()
    assert (await kube.get(GATEWAY, "gw", namespace))["metadata"]["resourceVersion"] == version


async def test_the_gateway_serves_path_header_matches_and_sets_request_headers(
    kube: Kube, sandbox: Sandbox, namespace: str, apps: tuple[DemoApp, DemoApp]
) -> None:
    for app in apps:
        await register_backend(kube, namespace, f"app-{app.version}", 80, app.port)
    await kube.create(GATEWAY, gateway(namespace, "gw", sandbox.class_name), namespace)
    rules: list[JsonObj] = [
        {"backendRefs": [backend("app-v1")]},
        {
            "matches": [
                {
                    "path": {"type": "PathPrefix", "value": "/api"},
                    "headers": [{"name": "x-canary", "value": "yes"}],
                }
            ],
            "filters": [
                {
                    "type": "RequestHeaderModifier",
                    "requestHeaderModifier": {"set": [{"name": "x-routed", "value": "canary"}]},
                }
            ],
            "backendRefs": [backend("app-v2")],
        },
    ]
    await kube.create(HTTPROUTE, _route(namespace, namespace, rules), namespace)
    await route_accepted(kube, sandbox, namespace)
    async with asyncio.timeout(30):
        url = await sandbox.controller.wait_for_url(namespace, "gw", 80)

    async def answer(path: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The answering version and the headers it received ("" before routes exist: 404)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(url + path, headers=headers) as resp,
        ):
            if resp.status != 200:
                return "", {}
            body = await resp.json()
            return body["version"], body["headers"]

    async def routed() -> bool:
        return (await answer("/api/x", {"x-canary": "yes"}))[0] == "v2"

    await eventually(routed, what="the header match to route to v2")
    version, headers = await answer("/api/x", {"x-canary": "yes"})
    assert (version, headers.get("x-routed")) == ("v2", "canary")
    assert (await answer("/api/x", {}))[0] == "v1"  # header missing
    assert (await answer("/apix", {"x-canary": "yes"}))[0] == "v1"  # not the /api segment
    assert (await answer("/api", {"x-canary": "yes"}))[0] == "v2"

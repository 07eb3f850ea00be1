"""The real Contour gateway controller against the sandbox's API server: the status it writes
itself, read back from the API server, and an Envoy that takes its xDS.

Contour runs in static mode (its config names the Gateway): it writes Gateway and route status
but never GatewayClass status, and these tests check that it does not. No traffic reaches a
backend here (Kubernetes refuses loopback addresses in EndpointSlices).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from harness.gateway import backend, gateway, http_route, listener
from harness.manifests import gateway_class_manifest
from harness.waiting import eventually

from canary.kube.client import Kube
from canary.kube.resources import (
    GATEWAY,
    GATEWAYCLASS,
    HTTPROUTE,
    NAMESPACE,
    REFERENCEGRANT,
    SERVICE,
    JsonObj,
)
from canary.sandbox.contour import (
    CONTROLLER_NAME,
    Contour,
    ContourEnvoy,
    GatewayRef,
    envoy_port,
    free_listener_port,
)
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.processes import LOOPBACK

pytestmark = pytest.mark.integration

ADMIT_LABEL = "canary-operator.io/contour-test"


@dataclass(frozen=True)
class Setup:
    """One test's Contour: its Gateway `gw` in `gateway_ns`, whose listener admits routes from
    namespaces labelled for this test (`admitted` is, `blocked` is not)."""

    contour: Contour
    class_name: str
    gateway_ns: str
    admitted: str
    blocked: str
    listener_port: int


def _service(name: str) -> JsonObj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"port": 80, "name": "http"}], "selector": {"app": name}},
    }


async def _namespace(kube: Kube, labels: dict[str, str] | None = None) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    await kube.create(NAMESPACE, {"metadata": {"name": name, "labels": labels or {}}})
    return name


@pytest.fixture
async def setup(
    kube: Kube, control_plane: ControlPlane | ExistingCluster, tmp_path: Path
) -> AsyncIterator[Setup]:
    test_id = uuid.uuid4().hex[:10]
    admitted = await _namespace(kube, {ADMIT_LABEL: test_id})
    blocked = await _namespace(kube)
    gateway_ns = await _namespace(kube)
    class_name = f"contour-{test_id}"
    await kube.create(GATEWAYCLASS, gateway_class_manifest(class_name, CONTROLLER_NAME))
    port = free_listener_port()
    allowed = {"from": "Selector", "selector": {"matchLabels": {ADMIT_LABEL: test_id}}}
    gw = gateway(gateway_ns, "gw", class_name, [listener(port=port, allowed=allowed)])
    await kube.create(GATEWAY, gw, gateway_ns)
    for namespace in (admitted, blocked, gateway_ns):
        await kube.create(SERVICE, _service("app"), namespace)
    try:
        async with Contour(
            control_plane.kubeconfig, GatewayRef(gateway_ns, "gw"), tmp_path / "contour"
        ) as contour:
            yield Setup(contour, class_name, gateway_ns, admitted, blocked, port)
    finally:
        await kube.delete(GATEWAYCLASS, class_name)
        for namespace in (admitted, blocked, gateway_ns):
            await kube.delete(NAMESPACE, namespace)


def _route(setup: Setup, namespace: str, name: str, backend_ref: JsonObj) -> JsonObj:
    parent = {"name": "gw", "namespace": setup.gateway_ns}
    return http_route(namespace, name, parent=parent, rules=[{"backendRefs": [backend_ref]}])


async def _contours_condition(
    kube: Kube, setup: Setup, namespace: str, name: str, type_: str, status: str, reason: str
) -> JsonObj:
    """Wait until Contour's parent entry of route `name` has `type_`=`status`/`reason` for the
    route's current generation; return the condition."""

    async def check() -> JsonObj | None:
        route = await kube.get(HTTPROUTE, name, namespace)
        for parent in (route.get("status") or {}).get("parents") or []:
            if parent.get("controllerName") != CONTROLLER_NAME:
                continue
            for cond in parent.get("conditions") or []:
                if (cond["type"], cond["status"], cond["reason"]) == (type_, status, reason) and (
                    cond.get("observedGeneration") == route["metadata"]["generation"]
                ):
                    return dict(cond)
        return None

    return await eventually(
        check,
        within=30,
        what=f"{namespace}/{name} {type_}={status}/{reason} from Contour",
        detail=setup.contour.log_tail,
    )


async def test_contour_accepts_the_gateway_but_never_the_gatewayclass_in_static_mode(
    kube: Kube, setup: Setup
) -> None:
    async def accepted() -> JsonObj | None:
        gw = await kube.get(GATEWAY, "gw", setup.gateway_ns)
        for cond in (gw.get("status") or {}).get("conditions") or []:
            if cond["type"] == "Accepted" and cond["status"] == "True":
                generation = gw["metadata"]["generation"]
                return gw if cond.get("observedGeneration") == generation else None
        return None

    gw = await eventually(
        accepted, within=30, what="Gateway Accepted=True", detail=setup.contour.log_tail
    )
    listeners = gw["status"]["listeners"]
    assert [entry["name"] for entry in listeners] == ["http"]

    # Contour has written the Gateway's status, so it has seen the class: in static mode it
    # leaves the GatewayClass as the API server defaulted it (Accepted=Unknown, Pending).
    gateway_class = await kube.get(GATEWAYCLASS, setup.class_name)
    conditions = {c["type"]: c for c in (gateway_class.get("status") or {}).get("conditions", [])}
    assert conditions.get("Accepted", {}).get("status") != "True", conditions


async def test_contour_writes_accepted_and_not_allowed_by_listeners(
    kube: Kube, setup: Setup
) -> None:
    await kube.create(
        HTTPROUTE, _route(setup, setup.admitted, "in", backend("app")), setup.admitted
    )
    await kube.create(HTTPROUTE, _route(setup, setup.blocked, "out", backend("app")), setup.blocked)

    await _contours_condition(kube, setup, setup.admitted, "in", "Accepted", "True", "Accepted")
    await _contours_condition(
        kube, setup, setup.admitted, "in", "ResolvedRefs", "True", "ResolvedRefs"
    )
    await _contours_condition(
        kube, setup, setup.blocked, "out", "Accepted", "False", "NotAllowedByListeners"
    )


async def test_contour_reports_a_missing_backend_service(kube: Kube, setup: Setup) -> None:
    route = _route(setup, setup.admitted, "missing", backend("no-such-service"))
    await kube.create(HTTPROUTE, route, setup.admitted)

    await _contours_condition(
        kube, setup, setup.admitted, "missing", "ResolvedRefs", "False", "BackendNotFound"
    )


async def test_contour_refuses_a_cross_namespace_backend_until_a_reference_grant_allows_it(
    kube: Kube, setup: Setup
) -> None:
    across = backend("app", namespace=setup.gateway_ns)
    await kube.create(HTTPROUTE, _route(setup, setup.admitted, "across", across), setup.admitted)

    refused = await _contours_condition(
        kube, setup, setup.admitted, "across", "ResolvedRefs", "False", "RefNotPermitted"
    )
    assert setup.gateway_ns in refused["message"] or "ReferenceGrant" in refused["message"]
    await _contours_condition(kube, setup, setup.admitted, "across", "Accepted", "True", "Accepted")

    grant = {
        "apiVersion": REFERENCEGRANT.api_version,
        "kind": "ReferenceGrant",
        "metadata": {"name": "routes-to-app", "namespace": setup.gateway_ns},
        "spec": {
            "from": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "HTTPRoute",
                    "namespace": setup.admitted,
                }
            ],
            "to": [{"group": "", "kind": "Service", "name": "app"}],
        },
    }
    await kube.create(REFERENCEGRANT, grant, setup.gateway_ns)

    await _contours_condition(
        kube, setup, setup.admitted, "across", "ResolvedRefs", "True", "ResolvedRefs"
    )


async def test_the_wheels_envoy_takes_contours_xds_and_listens_on_the_listener_port_plus_8000(
    kube: Kube, setup: Setup, tmp_path: Path
) -> None:
    await kube.create(
        HTTPROUTE, _route(setup, setup.admitted, "in", backend("app")), setup.admitted
    )
    await _contours_condition(kube, setup, setup.admitted, "in", "Accepted", "True", "Accepted")

    async with ContourEnvoy(setup.contour, tmp_path / "envoy") as envoy:
        url = f"http://{LOOPBACK}:{envoy_port(setup.listener_port)}/"

        async def answered() -> int | None:
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response,
                ):
                    return response.status if response.headers.get("server") == "envoy" else None
            except (aiohttp.ClientError, TimeoutError):
                return None

        # The Service has no endpoints: Envoy itself answers 503 on the route Contour gave it.
        status = await eventually(answered, within=30, what=f"Envoy answering on {url}")
        assert status == 503
        listeners = json.loads(await envoy.admin("/listeners?format=json"))["listener_statuses"]
        bound = {entry["local_address"]["socket_address"]["address"] for entry in listeners}
        assert bound == {LOOPBACK}, listeners
        assert envoy.alive()

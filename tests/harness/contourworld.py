"""A small world on the real Contour (static mode) for operator tests: a Gateway admitting
every namespace (or those with a label), an app namespace with the route and the Canary, and a
second namespace for a cross-namespace canary Service. Every route status in it is written by
Contour itself."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from canary.kube.client import Kube
from canary.kube.resources import (
    CANARY,
    EVENT,
    GATEWAY,
    GATEWAYCLASS,
    HTTPROUTE,
    NAMESPACE,
    JsonObj,
)
from canary.sandbox.contour import CONTROLLER_NAME, Contour, GatewayRef, free_listener_port
from canary.sandbox.controlplane.launcher import ControlPlane, ExistingCluster
from canary.sandbox.prometheus import PrometheusServer
from harness.app import condition
from harness.gateway import gateway, listener
from harness.manifests import gateway_class_manifest
from harness.operators import Operators
from harness.waiting import eventually

ROUTE = "api-route"


@dataclass(frozen=True)
class ContourWorld:
    kube: Kube
    app: str  # the route's and the Canary's namespace
    other: str  # a second namespace (a cross-namespace canary Service lives there)
    gateway_ns: str
    class_name: str  # the Gateway's GatewayClass
    test_id: str  # unique to the test; the label value that admits a namespace (admit_label)
    contour: Contour
    operator: Operators

    async def status(self) -> JsonObj:
        return (await self.kube.get(CANARY, "api", self.app)).get("status") or {}

    async def route(self) -> JsonObj:
        return await self.kube.get(HTTPROUTE, ROUTE, self.app)

    async def weights(self) -> tuple[int, int]:
        refs = (await self.route())["spec"]["rules"][0]["backendRefs"]
        return int(refs[0]["weight"]), int(refs[1]["weight"])

    async def contour_condition(self, type_: str) -> JsonObj | None:
        """The condition `type_` Contour wrote on the route (its only parent)."""
        parents = (await self.route()).get("status", {}).get("parents") or []
        return next((c for p in parents for c in p.get("conditions") or []
                     if c["type"] == type_), None)

    async def contour_caught_up(self) -> bool:
        """Contour's Accepted condition is for the route's current generation."""
        route = await self.route()
        accepted = next((c for p in route.get("status", {}).get("parents") or []
                         for c in p.get("conditions") or [] if c["type"] == "Accepted"), None)
        generation = route["metadata"]["generation"]
        return accepted is not None and accepted.get("observedGeneration") == generation

    async def held_by(self, reason: str, within: float = 60) -> JsonObj:
        """Wait until RouteAccepted=False with `reason`; returns that condition."""

        async def check() -> JsonObj | None:
            found = condition(await self.status(), "RouteAccepted")
            held = found is not None and (found["status"], found["reason"]) == ("False", reason)
            return found if held else None

        return await eventually(check, within=within, what=f"RouteAccepted=False/{reason}",
                                detail=self.operator.tail)

    async def until_phase(self, phase: str, within: float = 90) -> JsonObj:
        async def check() -> JsonObj | None:
            status = await self.status()
            return status if status.get("phase") == phase else None

        return await eventually(check, within=within, what=phase, detail=self.operator.tail)

    async def events(self, reason: str) -> list[JsonObj]:
        items, _ = await self.kube.list(EVENT, self.app)
        return [e for e in items if e.get("reason") == reason
                and (e.get("regarding") or {}).get("kind") == "Canary"]


def route_manifest(app: str, gateway_ns: str, canary_ns: str | None = None) -> JsonObj:
    canary: JsonObj = {"name": "api-svc-v2", "port": 8080, "weight": 0}
    if canary_ns is not None:
        canary["namespace"] = canary_ns
    return {
        "apiVersion": HTTPROUTE.api_version,
        "kind": "HTTPRoute",
        "metadata": {"name": ROUTE, "namespace": app},
        "spec": {
            "parentRefs": [{"name": "gw", "namespace": gateway_ns}],
            "rules": [{"backendRefs": [
                {"name": "api-svc-v1", "port": 8080, "weight": 100},
                canary,
            ]}],
        },
    }


@contextlib.asynccontextmanager
async def open_contour_world(
    kube: Kube,
    control_plane: ControlPlane | ExistingCluster,
    prometheus: PrometheusServer,
    tmp_path: Path,
    *,
    admit_label: str | None = None,
) -> AsyncIterator[ContourWorld]:
    """The namespaces, GatewayClass and Gateway, Contour running, and an operator (not started)
    watching the three namespaces; all removed afterwards. The Gateway's listener admits every
    namespace, or with `admit_label` only those labelled `admit_label: <the world's test_id>`."""
    test_id = uuid.uuid4().hex[:10]
    app, other, gateway_ns = (f"contour-{part}-{test_id}" for part in ("app", "other", "gw"))
    for name in (app, other, gateway_ns):
        await kube.create(NAMESPACE, {"metadata": {"name": name}})
    class_name = f"contour-{test_id}"
    await kube.create(GATEWAYCLASS, gateway_class_manifest(class_name, CONTROLLER_NAME))
    allowed: JsonObj = {"from": "All"}
    if admit_label is not None:
        allowed = {"from": "Selector", "selector": {"matchLabels": {admit_label: test_id}}}
    http = listener(port=free_listener_port(), allowed=allowed)
    await kube.create(GATEWAY, gateway(gateway_ns, "gw", class_name, [http]), gateway_ns)
    kubeconfig = control_plane.kubeconfig
    operator = Operators(kubeconfig, [app, other, gateway_ns], prometheus.url, tmp_path)
    try:
        async with Contour(kubeconfig, GatewayRef(gateway_ns, "gw"), tmp_path / "contour") as c:
            yield ContourWorld(kube, app, other, gateway_ns, class_name, test_id, c, operator)
    finally:
        operator.stop()
        await kube.delete(GATEWAYCLASS, class_name)
        for name in (app, other, gateway_ns):
            await kube.delete(NAMESPACE, name)

"""The real Contour (static mode, canary/sandbox/contour.py) writing the route status the
operator suites read: one GatewayClass of Contour's controller name per session, and one Contour
process per test Gateway (static Contour serves exactly one Gateway; it starts in about half a
second).

No Envoy runs here: these suites need route status, not traffic (their metrics come from the
exporter the tests steer). Contour never writes GatewayClass status in static mode; the operator
takes an unaccepted class whose Gateway is accepted as a hint, not a hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from canary.kube.client import Kube
from canary.kube.resources import GATEWAYCLASS, HTTPROUTE, JsonObj
from canary.sandbox.contour import CONTROLLER_NAME, Contour, GatewayRef, install_crds
from harness.manifests import gateway_class_manifest


async def install_contour_crds(kubeconfig: Path) -> None:
    """Contour's own CRDs, once per control plane (every Contour then starts without them)."""
    await asyncio.to_thread(install_crds, kubeconfig)


@asynccontextmanager
async def contour_gateway_class(kube: Kube, name: str, *, keep: bool = False) -> AsyncIterator[str]:
    """A GatewayClass of Contour's controller name; deleted afterwards unless `keep`."""
    await kube.create(GATEWAYCLASS, gateway_class_manifest(name, CONTROLLER_NAME))
    try:
        yield name
    finally:
        if not keep:
            await kube.delete(GATEWAYCLASS, name)


def contour_for(kubeconfig: Path, namespace: str, workdir: Path, *, gateway: str = "gw") -> Contour:
    """A Contour (not started: `async with` it) serving Gateway `namespace/gateway`; Contour's
    CRDs must be installed already (`install_contour_crds`)."""
    return Contour(kubeconfig, GatewayRef(namespace, gateway), workdir, install_crds=False)


def contour_conditions(route: JsonObj) -> dict[str, JsonObj] | None:
    """The conditions (by type) of the parent entry Contour wrote on `route`, or None."""
    for parent in (route.get("status") or {}).get("parents") or []:
        if parent.get("controllerName") == CONTROLLER_NAME:
            return {c["type"]: c for c in parent.get("conditions") or []}
    return None


def status_is_stale(route: JsonObj) -> bool:
    """Whether Contour's Accepted condition on `route` is for an older generation of it."""
    accepted = (contour_conditions(route) or {}).get("Accepted")
    generation = int(route["metadata"]["generation"])
    return accepted is None or int(accepted.get("observedGeneration", 0)) < generation


async def stale_routes(kube: Kube, namespace: str, names: set[str]) -> set[str]:
    """Which of the routes `names` carry Contour status for an older generation (or none)."""
    items, _ = await kube.list(HTTPROUTE, namespace)
    return {r["metadata"]["name"] for r in items if r["metadata"]["name"] in names
            and status_is_stale(r)}

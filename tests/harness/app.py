"""The operator suite's application: one test's namespace with Gateway `gw`, Services, the route
`api-route`, a Canary `api` gated on a gauge of the test's own, and metric controls.

Every metric check in those tests is a real PromQL result; every weight is read back from the
real API server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from canary.kube.client import Kube
from canary.kube.resources import CANARY, EVENT, GATEWAY, HTTPROUTE, JsonObj
from canary.sandbox.exporter import Exporter
from canary.sandbox.processes import Child
from harness import manifests
from harness.operators import Operators
from harness.waiting import eventually

# The integration suites' GatewayClass, of the real Contour's controller name
# (tests/integration/conftest.py; a Contour per test serves its Gateway).
CLASS_NAME = "integration-tests"
service_manifest = manifests.service_manifest


def gauge_name(namespace: str) -> str:
    """Each test serves its own gauge, so removing it never touches another test's series."""
    return Tenant.GAUGE_PREFIX + namespace.replace("-", "_")


def success_query(namespace: str) -> str:
    """The inline gate every test Canary uses: the test's gauge for the canary Service."""
    return gauge_name(namespace) + '{service="{{ canary_service }}"}'


def gateway_manifest(namespace: str, *, allowed_from: str = "Same") -> JsonObj:
    listener = {**manifests.HTTP_LISTENER, "allowedRoutes": {"namespaces": {"from": allowed_from}}}
    return manifests.gateway_manifest(namespace, CLASS_NAME, listeners=[listener])


def route_manifest(namespace: str, *, gateway_namespace: str | None = None) -> JsonObj:
    """api-route: the managed rule (v1/v2) plus everything a user might have written."""
    parent: JsonObj = {"name": "gw"}
    if gateway_namespace:
        parent["namespace"] = gateway_namespace
    return {
        "apiVersion": HTTPROUTE.api_version,
        "kind": "HTTPRoute",
        "metadata": {
            "name": "api-route",
            "namespace": namespace,
            "annotations": {"team.example.com/owner": "api-team"},
            "labels": {"app": "api"},
        },
        "spec": {
            "parentRefs": [parent],
            "hostnames": ["api.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {
                                "add": [{"name": "X-Canary-Test", "value": "yes"}]
                            },
                        }
                    ],
                    "backendRefs": [
                        {"name": "api-svc-v1", "port": 8080, "weight": 100},
                        {"name": "api-svc-v2", "port": 8080, "weight": 0},
                        {"name": "api-svc-mirror", "port": 8080, "weight": 0},
                    ],
                },
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/legacy"}}],
                    "backendRefs": [{"name": "api-svc-v1", "port": 8080}],
                },
            ],
        },
    }


def canary_manifest(namespace: str, **spec_overrides: Any) -> JsonObj:
    """Canary `api` on api-route (v1 stable, v2 canary), gated on the test's gauge; any spec
    field can be overridden."""
    spec_overrides.setdefault("analysis", manifests.gate(success_query(namespace)))
    return manifests.canary_manifest(namespace, **spec_overrides)


def condition(status: JsonObj, type_: str) -> JsonObj | None:
    return next((c for c in status.get("conditions") or [] if c["type"] == type_), None)


def require_condition(status: JsonObj, type_: str) -> JsonObj:
    """The condition `type_`, which must be there."""
    found = condition(status, type_)
    assert found is not None, f"no {type_} condition in {status}"
    return found


@dataclass
class Tenant:
    """A test's namespace with the route `api-route` (stable api-svc-v1 and canary api-svc-v2
    first), and the gate's gauge on the shared exporter, named after the namespace."""

    kube: Kube
    namespace: str
    exporter: Exporter
    prometheus_url: str
    GAUGE_PREFIX: ClassVar[str] = "canary_test_success_"

    @property
    def gauge(self) -> str:
        """Each test serves its own gauge, so removing it never touches another test's series."""
        return self.GAUGE_PREFIX + self.namespace.replace("-", "_")

    def set_success(self, percent: float | None, service: str = "api-svc-v2") -> None:
        """Serve the gate's gauge (None: remove it, so the query returns no data)."""
        if percent is None:
            self.exporter.remove(self.gauge)
        else:
            self.exporter.set_gauge(self.gauge, {"service": service}, percent)

    async def route(self) -> JsonObj:
        return await self.kube.get(HTTPROUTE, "api-route", self.namespace)

    async def weights(self) -> tuple[int, int]:
        refs = (await self.route())["spec"]["rules"][0]["backendRefs"]
        return int(refs[0].get("weight", 1)), int(refs[1].get("weight", 1))


@dataclass
class App(Tenant):
    """One test's application namespace: Gateway, Services, route, and metric controls."""

    @property
    def key(self) -> str:
        """The Canary's "namespace/name", as the operator's log lines name it."""
        return f"{self.namespace}/api"

    async def canary(self) -> JsonObj:
        return await self.kube.get(CANARY, "api", self.namespace)

    async def status(self) -> JsonObj:
        return (await self.canary()).get("status") or {}

    async def phase(self, *phases: str) -> JsonObj | None:
        """The status once its phase is one of `phases` (an `eventually` check)."""
        status = await self.status()
        return status if status.get("phase") in phases else None

    async def until_phase(self, phase: str, *, within: float = 60, what: str = "") -> JsonObj:
        """Wait until the status reaches `phase`; returns the status."""
        return await eventually(lambda: self.phase(phase), within=within, what=what or phase)

    async def weight_at_least(self, weight: int) -> JsonObj | None:
        """The status once the canary weight is `weight` or more (an `eventually` check)."""
        status = await self.status()
        return status if status.get("canaryWeight", 0) >= weight else None

    async def create_canary(self, **spec: Any) -> None:
        await self.kube.create(CANARY, canary_manifest(self.namespace, **spec), self.namespace)

    async def admit_only_labelled_namespaces(self) -> None:
        """Gateway `gw` admits routes only from namespaces labelled gateway-access=true, which
        this one is not."""
        blocked = gateway_manifest(self.namespace, allowed_from="Selector")
        blocked["spec"]["listeners"][0]["allowedRoutes"]["namespaces"]["selector"] = {
            "matchLabels": {"gateway-access": "true"}
        }
        # A merge patch of the spec, not a replace: Contour's status writes would
        # make a resourceVersion-guarded replace fail with a conflict now and then.
        listeners = {"spec": {"listeners": blocked["spec"]["listeners"]}}
        await self.kube.patch(GATEWAY, "gw", listeners, namespace=self.namespace)

    async def roll_out(
        self, operator: Operators, success: float | None, /, *, resync: float = 30, **spec: Any
    ) -> Child:
        """Serve the gate at `success`, create the Canary (`spec` overrides), start `operator`."""
        self.set_success(success)
        await self.create_canary(**spec)
        return operator.start(resync=resync)

    async def at_first_step(
        self, operator: Operators, weights: list[int], interval: str, *, exactly: bool = False
    ) -> JsonObj:
        """Roll out `weights` every `interval` (gate at 100 %) and wait until the first weight
        is on (`exactly`: the status shows that weight, not a later one) in the status and on the
        route (the operator writes the status first); returns the status."""
        await self.roll_out(operator, 100, steps={"weights": weights, "interval": interval})
        first = weights[0]

        async def reached() -> JsonObj | None:
            status = await self.status()
            weight = status.get("canaryWeight", 0)
            return status if (weight == first if exactly else weight >= first) else None

        async def routed() -> bool:
            return (await self.weights())[1] >= first

        status = await eventually(reached, within=60, what=f"the first step ({first} %)")
        await eventually(routed, within=30, what=f"the route at the first step ({first} %)")
        return status

    async def request(self, kind: str) -> str:
        nonce = uuid.uuid4().hex[:12]
        await self.kube.patch(
            CANARY, "api", {"spec": {"requests": {kind: nonce}}}, namespace=self.namespace
        )
        return nonce

    async def events(self) -> list[JsonObj]:
        items, _ = await self.kube.list(EVENT, self.namespace)
        return sorted(items, key=lambda e: e.get("eventTime") or "")

    async def event_reasons(self) -> list[str]:
        return [e.get("reason", "") for e in await self.events()]

    async def wait_for_events(self, *reasons: str, within: float = 30) -> list[str]:
        """Events are recorded after the status write: wait until all `reasons` appear."""

        async def present() -> list[str] | None:
            found = await self.event_reasons()
            return found if all(r in found for r in reasons) else None

        return await eventually(present, within=within, what=f"events {reasons}")

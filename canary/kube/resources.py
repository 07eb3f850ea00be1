"""The Kubernetes resources the operator reads or writes, as (group, version, plural) triples.

Plain data, no I/O: the rest of the code names resources through these constants instead of
spelling API paths by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

JsonObj = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    """A REST resource: enough to build its URL path."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base


CANARY_GROUP: Final = "rollouts.canary-operator.io"
GATEWAY_GROUP: Final = "gateway.networking.k8s.io"

CANARY: Final = Resource(CANARY_GROUP, "v1alpha1", "canaries", "Canary")
HTTPROUTE: Final = Resource(GATEWAY_GROUP, "v1", "httproutes", "HTTPRoute")
GRPCROUTE: Final = Resource(GATEWAY_GROUP, "v1", "grpcroutes", "GRPCRoute")
GATEWAY: Final = Resource(GATEWAY_GROUP, "v1", "gateways", "Gateway")
GATEWAYCLASS: Final = Resource(
    GATEWAY_GROUP, "v1", "gatewayclasses", "GatewayClass", namespaced=False
)
REFERENCEGRANT: Final = Resource(GATEWAY_GROUP, "v1beta1", "referencegrants", "ReferenceGrant")
SERVICE: Final = Resource("", "v1", "services", "Service")
SECRET: Final = Resource("", "v1", "secrets", "Secret")
NAMESPACE: Final = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
EVENT: Final = Resource("events.k8s.io", "v1", "events", "Event")
INGRESS: Final = Resource("networking.k8s.io", "v1", "ingresses", "Ingress")
ENDPOINTSLICE: Final = Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice")
LEASE: Final = Resource("coordination.k8s.io", "v1", "leases", "Lease")
DEPLOYMENT: Final = Resource("apps", "v1", "deployments", "Deployment")
POD: Final = Resource("", "v1", "pods", "Pod")
HPA: Final = Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")

"""Register a local process as a Kubernetes Service backend: a Service and its EndpointSlice.

A bare API server runs no controllers, so nothing would fill EndpointSlices from Pods; the
sandbox writes them itself. The API server refuses loopback addresses there, so 127.0.0.1 is
written as its stand-in 192.0.2.1 (see `backends.stand_in_address`). The Service is headless
(`clusterIP: None`): no cluster IP is taken from the API server's small service range.
"""

from __future__ import annotations

from canary.kube.client import Kube
from canary.kube.resources import ENDPOINTSLICE, SERVICE
from canary.sandbox.gateway.backends import stand_in_address
from canary.sandbox.gateway.world import JsonObj
from canary.sandbox.processes import LOOPBACK

MANAGED_BY = "sandbox.canary-operator.io"  # a label value: no "/"
PORT_NAME = "http"


def service_manifest(namespace: str, service: str, port: int) -> JsonObj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": MANAGED_BY},
        },
        "spec": {
            "clusterIP": "None",
            "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}],
        },
    }


def endpoint_slice_manifest(namespace: str, service: str, target_port: int) -> JsonObj:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service}-loopback",
            "namespace": namespace,
            "labels": {
                "kubernetes.io/service-name": service,
                "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [stand_in_address(LOOPBACK)], "conditions": {"ready": True}}],
        "ports": [{"name": PORT_NAME, "port": target_port, "protocol": "TCP"}],
    }


async def register_backend(
    kube: Kube, namespace: str, service: str, port: int, target_port_on_loopback: int
) -> None:
    """Make Service `namespace/service` port `port` send traffic to 127.0.0.1:`target`.

    Idempotent (server-side apply): call again to move the Service to another local port.
    """
    await kube.patch(
        SERVICE,
        service,
        service_manifest(namespace, service, port),
        namespace=namespace,
        patch_type="apply",
        force=True,
    )
    await kube.patch(
        ENDPOINTSLICE,
        f"{service}-loopback",
        endpoint_slice_manifest(namespace, service, target_port_on_loopback),
        namespace=namespace,
        patch_type="apply",
        force=True,
    )

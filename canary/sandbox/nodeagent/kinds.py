"""The core resources the node agent reads and writes (beside `canary.kube.resources`)."""

from __future__ import annotations

from typing import Final

from canary.kube.resources import Resource

POD: Final = Resource("", "v1", "pods", "Pod")
NODE: Final = Resource("", "v1", "nodes", "Node", namespaced=False)
LEASE: Final = Resource("coordination.k8s.io", "v1", "leases", "Lease")
NODE_LEASE_NAMESPACE: Final = "kube-node-lease"

"""The core resources the node agent reads and writes (beside `canary.kube.resources`)."""

from __future__ import annotations

from typing import Final

from canary.kube.resources import LEASE, POD, Resource

NODE: Final = Resource("", "v1", "nodes", "Node", namespaced=False)
NODE_LEASE_NAMESPACE: Final = "kube-node-lease"

__all__ = ["LEASE", "NODE", "NODE_LEASE_NAMESPACE", "POD"]

"""The Lease as the elector sees it: its spec as a value, and the calls that read and write it.

Plain data and formatting only; the election rules are in `leader.py`.
"""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from dataclasses import dataclass
from typing import Protocol

from canary.kube.resources import LEASE, JsonObj, Resource


class LeaseApi(Protocol):
    """The three calls election needs (`canary.kube.client.Kube` has them)."""

    async def get_or_none(
        self, res: Resource, name: str, namespace: str | None = None
    ) -> JsonObj | None: ...

    async def create(
        self, res: Resource, body: JsonObj, namespace: str | None = None
    ) -> JsonObj: ...

    async def replace(
        self,
        res: Resource,
        name: str,
        body: JsonObj,
        *,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> JsonObj: ...


def default_identity() -> str:
    """Unique per process, readable per pod: `<hostname>_<random>` like client-go."""
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:12]}"


def micro_time(moment: dt.datetime) -> str:
    """Kubernetes `MicroTime`: RFC 3339 in UTC with microseconds."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease's spec: who holds it, for how long, since when and how often it moved."""

    holder: str = ""
    duration_seconds: int = 0
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0

    @classmethod
    def of(cls, lease: JsonObj) -> LeaseRecord:
        spec = lease.get("spec") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=int(spec.get("leaseTransitions") or 0),
        )

    def spec(self) -> JsonObj:
        return {
            "holderIdentity": self.holder,
            "leaseDurationSeconds": self.duration_seconds,
            "acquireTime": self.acquire_time,
            "renewTime": self.renew_time,
            "leaseTransitions": self.transitions,
        }

    def body(self, name: str, namespace: str, *, resource_version: str | None = None) -> JsonObj:
        """A whole Lease object carrying this record (and the version it must replace)."""
        metadata: JsonObj = {"name": name, "namespace": namespace}
        if resource_version is not None:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": LEASE.api_version,
            "kind": LEASE.kind,
            "metadata": metadata,
            "spec": self.spec(),
        }

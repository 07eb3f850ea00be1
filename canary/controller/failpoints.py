"""Fail points: make the operator process exit at a named moment, for the fault suite.

`CANARY_FAILPOINTS` is read once, when the operator starts. Unset or empty (always, outside the
fault suite) nothing is armed and the operator uses the plain `Kube` client: no cost, no
behaviour change. Set, it holds comma-separated points, each `NAME:ARG`:

| point | the process exits |
|---|---|
| `before-status-write:PHASE` | just before its first Canary status write carrying `phase: PHASE` |
| `after-status-write:PHASE` | just after that write succeeded |
| `before-route-write:N` | just before its N-th route write (HTTPRoute/GRPCRoute spec, 1-based) |
| `after-route-write:N` | just after its N-th route write succeeded |
| `before-workload-write:N` | just before its N-th workload write (Deployment, Service, HPA) |
| `after-workload-write:N` | just after its N-th workload write succeeded |

A point fires once: it prints `failpoint hit: NAME:ARG` on stderr and the process sends itself
SIGKILL: no `finally`, no flush, no lease release, exactly a kill at that instant (a parent
sees the return code `EXIT_CODE`, -9).

The status is written before the route on every transition: a rollback writes `RollingBack`,
then the 0 % route write, then `RolledBack` once the route shows it, so
`after-status-write:RollingBack` is the moment between the rollback's recording and its route
write; a promotion writes `Promoting`, the 100 % route write, then `Succeeded`
(docs/reliability.md lists what each scenario arms).

The points sit on the client's writes (`kube_class()` is what `runtime` connects with), so they
need no call inside the reconciler. `hit(name)` is there for a point a caller wants to name
itself.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from canary.kube.client import Kube, PatchType
from canary.kube.resources import CANARY, JsonObj, Resource

ENV = "CANARY_FAILPOINTS"
EXIT_CODE = -signal.SIGKILL  # what subprocess reports for a process killed by SIGKILL
POINTS = (
    "before-status-write", "after-status-write", "before-route-write", "after-route-write",
    "before-workload-write", "after-workload-write",
)
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")
WORKLOAD_KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler")


@dataclass
class FailPoints:
    """The armed points of this process, and the route writes counted so far."""

    armed: set[str] = field(default_factory=set)
    route_writes: int = 0
    workload_writes: int = 0

    @classmethod
    def parse(cls, text: str) -> FailPoints:
        armed = {part.strip() for part in text.split(",") if part.strip()}
        for point in armed:
            name, _, arg = point.partition(":")
            if name not in POINTS or not arg:
                raise ValueError(
                    f"{ENV}: unknown fail point {point!r}; known: NAME:ARG with NAME one of "
                    f"{', '.join(POINTS)}"
                )
            if name.endswith(("route-write", "workload-write")) and not arg.isdigit():
                raise ValueError(f"{ENV}: {point!r} needs a write number, e.g. {name}:2")
        return cls(armed)

    def hit(self, point: str) -> None:
        """Exit now if `point` is armed (each point fires once: the process ends with it)."""
        if point in self.armed:
            os.write(sys.stderr.fileno(), f"failpoint hit: {point}\n".encode())
            os.kill(os.getpid(), signal.SIGKILL)

    def before(self, write: Write) -> None:
        if write.phase:
            self.hit(f"before-status-write:{write.phase}")
        if write.route:
            self.hit(f"before-route-write:{self.route_writes + 1}")
        if write.workload:
            self.hit(f"before-workload-write:{self.workload_writes + 1}")

    def after(self, write: Write) -> None:
        if write.phase:
            self.hit(f"after-status-write:{write.phase}")
        if write.route:
            self.route_writes += 1
            self.hit(f"after-route-write:{self.route_writes}")
        if write.workload:
            self.workload_writes += 1
            self.hit(f"after-workload-write:{self.workload_writes}")


@dataclass(frozen=True)
class Write:
    """What one write is, as far as fail points care."""

    route: bool = False
    phase: str = ""
    workload: bool = False


def classify(res: Resource, body: Any, subresource: str | None) -> Write:
    """A route spec write, a Canary status write (with the phase it writes), a workload write
    (workload mode's Deployments, Services, HPA), or none of them."""
    if res.kind in ROUTE_KINDS and subresource is None:
        return Write(route=True)
    if res.kind in WORKLOAD_KINDS:
        return Write(workload=True)
    if res.plural == CANARY.plural and subresource == "status":
        status: Any = None
        if isinstance(body, list):  # JSON patch: the reconciler adds the whole status
            status = next((op.get("value") for op in body if op.get("path") == "/status"), None)
        elif isinstance(body, Mapping):
            status = body.get("status")
        if isinstance(status, Mapping) and status.get("phase"):
            return Write(phase=str(status["phase"]))
    return Write()


def kube_class(environ: Mapping[str, str] | None = None) -> type[Kube]:
    """`Kube` itself unless fail points are armed; then a `Kube` that stops at them."""
    text = (os.environ if environ is None else environ).get(ENV, "")
    if not text.strip():
        return Kube
    points = FailPoints.parse(text)

    class FailingKube(Kube):
        failpoints = points

        async def patch(
            self,
            res: Resource,
            name: str,
            body: Any,
            *,
            namespace: str | None = None,
            patch_type: PatchType = "merge",
            subresource: str | None = None,
            force: bool = False,
        ) -> JsonObj:
            write = classify(res, body, subresource)
            points.before(write)
            result = await super().patch(
                res,
                name,
                body,
                namespace=namespace,
                patch_type=patch_type,
                subresource=subresource,
                force=force,
            )
            points.after(write)
            return result

        async def replace(
            self,
            res: Resource,
            name: str,
            body: JsonObj,
            *,
            namespace: str | None = None,
            subresource: str | None = None,
        ) -> JsonObj:
            write = classify(res, body, subresource)
            points.before(write)
            result = await super().replace(
                res, name, body, namespace=namespace, subresource=subresource
            )
            points.after(write)
            return result

        async def create(
            self, res: Resource, body: JsonObj, namespace: str | None = None
        ) -> JsonObj:
            write = classify(res, body, None)
            points.before(write)
            result = await super().create(res, body, namespace)
            points.after(write)
            return result

    return FailingKube

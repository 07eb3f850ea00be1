"""Leader election against the real API server's Lease: one of two electors holds it, the other
takes over once the holder stops renewing, and racing electors never both win (the server's
resourceVersion check is what decides)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import pytest
from harness.waiting import became, eventually

from canary.controller.clock import RealClock
from canary.controller.leader import LeaderElector, LeadershipLost
from canary.controller.settings import LeaderElectionSettings
from canary.kube.client import Kube
from canary.kube.errors import Unavailable
from canary.kube.resources import LEASE, JsonObj, Resource

pytestmark = pytest.mark.integration


class Partitionable:
    """The real client, until `cut()`: then every call fails as if the network were down.
    Counts the elector's reads of the Lease: one per try."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self.cut_off = False
        self.reads = 0

    def _check(self) -> None:
        if self.cut_off:
            raise Unavailable("partitioned from the API server")

    async def get_or_none(self, res: Resource, name: str, namespace: str | None = None
                          ) -> JsonObj | None:
        self.reads += 1
        self._check()
        return await self._kube.get_or_none(res, name, namespace)

    async def create(self, res: Resource, body: JsonObj, namespace: str | None = None) -> JsonObj:
        self._check()
        return await self._kube.create(res, body, namespace)

    async def replace(self, res: Resource, name: str, body: JsonObj, *,
                      namespace: str | None = None, subresource: str | None = None) -> JsonObj:
        self._check()
        return await self._kube.replace(res, name, body, namespace=namespace,
                                        subresource=subresource)


@dataclass
class Contender:
    elector: LeaderElector
    api: Partitionable
    started: float | None = None
    stopped: float | None = None
    task: asyncio.Task[None] | None = None

    def run(self) -> None:
        async def work() -> None:
            self.started = time.monotonic()
            try:
                await asyncio.Event().wait()
            finally:
                self.stopped = time.monotonic()

        self.task = asyncio.create_task(self.elector.run(work))


async def more_tries(contenders: list[Contender], count: int) -> None:
    """Until every contender has looked at the Lease `count` more times (retry periods apart):
    the bounded way to give a wrong outcome its chances to happen."""
    wanted = {id(c): c.api.reads + count for c in contenders}
    await eventually(
        became(lambda: all(c.api.reads >= wanted[id(c)] for c in contenders)),
        within=15, what=f"{count} more tries of each contender",
    )


def settings(namespace: str, lease: str, identity: str) -> LeaderElectionSettings:
    return LeaderElectionSettings(
        enabled=True, lease_name=lease, lease_namespace=namespace, identity=identity,
        lease_duration_seconds=3, renew_deadline_seconds=2, retry_period_seconds=0.5,
    )


async def test_standby_takes_the_lease_after_the_holder_stops_renewing(
    admin: Kube, namespace: str
) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    a = Contender(LeaderElector(p := Partitionable(admin), settings(namespace, lease, "a"),
                                clock=RealClock()), p)
    b = Contender(LeaderElector(q := Partitionable(admin), settings(namespace, lease, "b"),
                                clock=RealClock()), q)
    a.run()
    await eventually(became(lambda: a.started is not None), within=10, what="a leads")
    b.run()
    # Nine looks, 0.5 s apart: 4 s, longer than the 3 s lease; a standby must keep waiting.
    await more_tries([b], 9)
    assert b.started is None, "the standby took a lease that was being renewed"
    spec = (await admin.get(LEASE, lease, namespace))["spec"]
    assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 3
    assert spec["leaseTransitions"] == 0 and spec["acquireTime"] < spec["renewTime"]

    a.api.cut_off = True
    cut = time.monotonic()
    await eventually(became(lambda: b.started is not None), within=15, what="b leads")
    assert a.stopped is not None and b.started is not None
    assert a.stopped < b.started, "both acted at once"
    assert a.stopped - cut <= 2 + 0.5, "the old leader went on past its renew deadline"
    assert a.task is not None and isinstance(a.task.exception(), LeadershipLost)
    spec = (await admin.get(LEASE, lease, namespace))["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    assert b.task is not None
    b.task.cancel()
    await asyncio.gather(b.task, return_exceptions=True)
    released = (await admin.get(LEASE, lease, namespace))["spec"]
    assert released["holderIdentity"] == "", "a leader shutting down must release the lease"


async def test_electors_racing_on_the_api_server_elect_exactly_one(
    admin: Kube, namespace: str
) -> None:
    lease = f"lease-{uuid.uuid4().hex[:6]}"
    contenders = [
        Contender(LeaderElector(p := Partitionable(admin), settings(namespace, lease, f"c{i}"),
                                clock=RealClock()), p)
        for i in range(4)
    ]
    for contender in contenders:
        contender.run()
    await eventually(became(lambda: any(c.started for c in contenders)), within=10,
                     what="a leader")
    await more_tries(contenders, 3)  # three tries each for a second winner to (wrongly) appear
    leaders = [c for c in contenders if c.started is not None]
    assert len(leaders) == 1
    spec = (await admin.get(LEASE, lease, namespace))["spec"]
    assert spec["holderIdentity"] == leaders[0].elector.identity
    for contender in contenders:
        assert contender.task is not None
        contender.task.cancel()
    await asyncio.gather(*(c.task for c in contenders if c.task), return_exceptions=True)

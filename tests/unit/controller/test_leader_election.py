"""Leader election on a Lease, driven by a virtual clock against an in-memory Lease store that
enforces resourceVersion like the API server: one leader at a time, takeover within the lease
duration, and a leader that cannot renew stops its work before anyone else may start."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from pydantic import ValidationError

from canary.controller.clock import VirtualClock
from canary.controller.leader import LeaderElector, LeadershipLost
from canary.controller.settings import LeaderElectionSettings
from canary.kube.errors import Conflict, NotFound, Unavailable
from canary.kube.resources import JsonObj, Resource

pytestmark = pytest.mark.unit

SETTINGS = LeaderElectionSettings(
    enabled=True,
    lease_name="canary-operator",
    lease_namespace="ops",
    lease_duration_seconds=15,
    renew_deadline_seconds=10,
    retry_period_seconds=2,
)


class LeaseStore:
    """One namespace's Leases, with optimistic concurrency on metadata.resourceVersion."""

    def __init__(self) -> None:
        self.objects: dict[str, JsonObj] = {}
        self.version = 0

    def _stamp(self, obj: JsonObj) -> JsonObj:
        self.version += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.objects[obj["metadata"]["name"]] = obj
        return copy.deepcopy(obj)

    def spec(self, name: str = "canary-operator") -> JsonObj:
        return dict(self.objects[name]["spec"])


@dataclass
class Api:
    """One replica's view of the store; `down` makes every call fail, `hang` never answer."""

    store: LeaseStore
    down: bool = False
    hang: bool = False
    calls: list[str] = field(default_factory=list)

    async def _enter(self, verb: str) -> None:
        self.calls.append(verb)
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise Unavailable("connection refused", status=0)

    async def get_or_none(
        self, res: Resource, name: str, namespace: str | None = None
    ) -> JsonObj | None:
        await self._enter("get")
        found = self.store.objects.get(name)
        return copy.deepcopy(found) if found else None

    async def create(self, res: Resource, body: JsonObj, namespace: str | None = None) -> JsonObj:
        await self._enter("create")
        if body["metadata"]["name"] in self.store.objects:
            raise Conflict("already exists", status=409)
        return self.store._stamp(body)

    async def replace(
        self,
        res: Resource,
        name: str,
        body: JsonObj,
        *,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> JsonObj:
        await self._enter("update")
        current = self.store.objects.get(name)
        if current is None:
            raise NotFound("gone", status=404)
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise Conflict("the object has been modified", status=409)
        return self.store._stamp(body)


@dataclass
class Replica:
    """An elector plus a record of when its work started and stopped (virtual seconds)."""

    elector: LeaderElector
    api: Api
    clock: VirtualClock
    started: float | None = None
    stopped: float | None = None
    task: asyncio.Task[None] | None = None

    def run(self) -> None:
        async def work() -> None:
            self.started = self.clock_seconds()
            try:
                await asyncio.Event().wait()
            finally:
                self.stopped = self.clock_seconds()

        self.task = asyncio.create_task(self.elector.run(work))

    def clock_seconds(self) -> float:
        return (self.clock.now() - START).total_seconds()


START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def replica(store: LeaseStore, clock: VirtualClock, identity: str) -> Replica:
    api = Api(store)
    settings = SETTINGS.model_copy(update={"identity": identity})
    return Replica(LeaderElector(api, settings, clock=clock), api, clock)


async def advance_until(
    clock: VirtualClock, done: Callable[[], bool], *, limit: float, step: float = 0.5
) -> float:
    """Move virtual time in small steps until `done()`; returns the seconds it took."""
    waited = 0.0
    while not done():
        assert waited < limit, f"not done after {limit} virtual seconds"
        await clock.advance(step)
        waited += step
    return waited


async def stop(*replicas: Replica) -> None:
    for r in replicas:
        if r.task is not None:
            r.task.cancel()
    await asyncio.gather(*(r.task for r in replicas if r.task), return_exceptions=True)


async def test_first_replica_creates_the_lease_with_the_standard_fields_and_leads() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    a = replica(store, clock, "pod-a")
    a.run()
    await advance_until(clock, lambda: a.started is not None, limit=1)
    spec = store.spec()
    assert spec["holderIdentity"] == "pod-a"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["acquireTime"] == spec["renewTime"] == "2026-01-01T00:00:00.000000Z"
    assert spec["leaseTransitions"] == 0
    assert a.elector.is_leader
    await stop(a)


async def test_leader_renews_every_retry_period_and_keeps_its_acquire_time() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    a = replica(store, clock, "pod-a")
    a.run()
    await clock.advance(0)
    await clock.advance(30)
    spec = store.spec()
    assert spec["renewTime"] == "2026-01-01T00:00:30.000000Z"
    assert spec["acquireTime"] == "2026-01-01T00:00:00.000000Z"
    assert spec["leaseTransitions"] == 0
    await stop(a)


async def test_standby_never_takes_a_lease_that_is_being_renewed() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    a, b = replica(store, clock, "pod-a"), replica(store, clock, "pod-b")
    a.run()
    await clock.advance(0)
    b.run()
    await clock.advance(120)
    assert a.started == 0 and a.stopped is None
    assert b.started is None, "a standby took a lease its holder was renewing"
    assert not b.elector.is_leader
    assert store.spec()["holderIdentity"] == "pod-a"
    await stop(a, b)


async def test_leader_that_cannot_renew_stops_before_the_standby_takes_over() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    a, b = replica(store, clock, "pod-a"), replica(store, clock, "pod-b")
    a.run()
    await clock.advance(0)
    b.run()
    await clock.advance(5)
    a.api.down = True  # partitioned from the API server from t=5 on (last renewal at t=4)
    await advance_until(clock, lambda: b.started is not None, limit=60)
    assert a.stopped is not None and b.started is not None
    assert a.stopped <= 4 + SETTINGS.renew_deadline_seconds, "leader kept working too long"
    assert a.stopped < b.started, "two replicas acted at the same time"
    assert b.started <= 4 + SETTINGS.lease_duration_seconds + SETTINGS.retry_period_seconds
    assert a.task is not None and a.task.done()
    with pytest.raises(LeadershipLost):
        a.task.result()
    spec = store.spec()
    assert spec["holderIdentity"] == "pod-b"
    assert spec["leaseTransitions"] == 1
    await stop(b)


async def test_hung_renewal_counts_as_failed_at_the_renew_deadline() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    a = replica(store, clock, "pod-a")
    a.run()
    await clock.advance(0)
    a.api.hang = True
    await advance_until(clock, lambda: a.stopped is not None, limit=30)
    assert a.stopped is not None and a.stopped <= SETTINGS.renew_deadline_seconds
    assert a.task is not None and isinstance(a.task.exception(), LeadershipLost)


async def test_leader_that_finds_another_holder_stops_at_its_next_renewal() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    a = replica(store, clock, "pod-a")
    a.run()
    await clock.advance(0)
    lease = store.objects["canary-operator"]
    lease["spec"]["holderIdentity"] = "usurper"
    store._stamp(lease)
    await clock.advance(SETTINGS.retry_period_seconds)
    assert a.stopped == SETTINGS.retry_period_seconds
    assert a.task is not None and "usurper" in str(a.task.exception())


async def test_replicas_racing_for_a_new_lease_elect_exactly_one() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    replicas = [replica(store, clock, f"pod-{i}") for i in range(5)]
    for r in replicas:
        r.run()
    await clock.advance(30)
    leaders = [r for r in replicas if r.started is not None]
    assert len(leaders) == 1
    assert store.spec()["holderIdentity"] == leaders[0].elector.identity
    await stop(*replicas)


async def test_leader_shutting_down_releases_the_lease_so_the_standby_starts_at_once() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    a, b = replica(store, clock, "pod-a"), replica(store, clock, "pod-b")
    a.run()
    await clock.advance(0)
    b.run()
    await clock.advance(1)
    await stop(a)
    assert store.spec()["holderIdentity"] == ""
    waited = await advance_until(clock, lambda: b.started is not None, limit=10)
    assert waited <= SETTINGS.retry_period_seconds
    assert store.spec()["leaseTransitions"] == 1
    await stop(b)


async def test_work_that_fails_releases_the_lease_and_raises_its_error() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    api = Api(store)
    elector = LeaderElector(api, SETTINGS.model_copy(update={"identity": "a"}), clock=clock)

    async def broken() -> None:
        raise RuntimeError("manager crashed")

    with pytest.raises(RuntimeError, match="manager crashed"):
        await elector.run(broken)
    assert store.spec()["holderIdentity"] == ""


async def test_leading_callback_follows_the_lease() -> None:
    clock, store = VirtualClock(START), LeaseStore()
    seen: list[bool] = []
    elector = LeaderElector(
        Api(store), SETTINGS.model_copy(update={"identity": "a"}), clock=clock,
        on_change=seen.append,
    )
    async def never() -> None:
        await asyncio.Event().wait()

    task = asyncio.create_task(elector.run(never))
    await clock.advance(0)
    assert seen == [True]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert seen == [True, False]


@pytest.mark.parametrize(
    ("duration", "deadline", "retry"), [(10, 10, 2), (10, 12, 2), (15, 10, 10), (15, 10, 12)]
)
def test_timing_that_could_let_two_leaders_overlap_is_rejected(
    duration: float, deadline: float, retry: float
) -> None:
    with pytest.raises(ValidationError, match="renew deadline < lease duration"):
        LeaderElectionSettings(
            lease_duration_seconds=duration,
            renew_deadline_seconds=deadline,
            retry_period_seconds=retry,
        )

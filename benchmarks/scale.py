"""Can one operator replica roll out thousands of Canaries at once? Measure it.

Why this exists: we claim that one replica handles thousands of Canaries (Flagger runs a
goroutine and uncached GETs per canary; Argo Rollouts degrades around 10k rollouts). Speed and
scale goals are met here, in a benchmark that prints figures and ratios, never in timed tests.

What it does, against the real kube-apiserver + etcd (`ControlPlane`):

1. creates one GatewayClass, one Gateway per namespace, and per Canary two headless Services,
   an HTTPRoute at 100/0 and a Canary whose steps advance on time alone (with `--analysis`:
   gated on a real Prometheus query per step instead);
2. runs a STAND-IN gateway controller in this process: it accepts the GatewayClass and writes
   each HTTPRoute's `status.parents` (Accepted, ResolvedRefs, observedGeneration) whenever the
   route's generation changes. It is not Contour (at thousands of routes that would measure
   Contour's and Envoy's config churn, not us); its writes are counted separately and never
   attributed to the operator;
3. starts `canary operator` as a real child process once every route is accepted, and times
   caches synced, each rollout (watch events of the Canaries) and all Succeeded;
4. then watches an idle period (every Canary finished, short `--resync`): writes expected 0.

Every figure comes from outside the operator: its canonical `event=reconciled` log lines, its
own /metrics, /proc (CPU, peak RSS) and the API server's `apiserver_request_total`.

What it must not do: assert anything (it is not a test and not part of the test command),
import the operator's internals, run Envoy, or leave processes behind (the control plane, the
operator and the stand-in are stopped on exit, on Ctrl-C and on SIGTERM).

    .venv/bin/python benchmarks/scale.py [--canaries 1000] [--namespaces 10] [--workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from canary.kube.client import Kube
from canary.kube.errors import Gone, KubeError
from canary.kube.resources import (
    CANARY,
    EVENT,
    GATEWAY,
    GATEWAYCLASS,
    HTTPROUTE,
    NAMESPACE,
    SERVICE,
    JsonObj,
    Resource,
)
from canary.sandbox.controlplane import versions
from canary.sandbox.controlplane.launcher import ControlPlane
from canary.sandbox.exporter import Exporter
from canary.sandbox.processes import LOOPBACK, Child, free_port
from canary.sandbox.prometheus import PrometheusServer, ScrapeTarget

REPO = Path(__file__).resolve().parents[1]
CLASS_NAME = "scale-bench"
STAND_IN = "canary-operator.io/scale-benchmark-stand-in"
GAUGE = "scale_bench_success_percent"  # what the --analysis gate reads, one series per Canary
SAMPLE_EVERY = 15.0  # seconds between reads of the operator's /metrics, as Prometheus would
ObjKey = tuple[str, str]  # (namespace, name)
Handler = Callable[[str, JsonObj], None]


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    canaries: int
    namespaces: int
    workers: int
    interval: int  # seconds per step
    weights: tuple[int, ...]
    analysis: bool  # one Prometheus gate per Canary, else steps advance on time alone
    resync: float
    idle: float
    timeout: float  # for all Canaries to succeed, after the operator started
    concurrency: int  # setup creates and stand-in writes in flight
    keep_log: Path | None = None  # copy the operator's log here at the end

    @property
    def ideal_seconds(self) -> float:
        """A rollout without any lag: every step lasts exactly one interval."""
        return len(self.weights) * self.interval

    @property
    def expected_route_writes(self) -> int:
        return len(self.weights) + 1  # one per step, plus the promotion to 100 %

    @property
    def expected_status_writes(self) -> int:
        return len(self.weights) + 2  # one per step, Promoting, Succeeded

    def describe(self) -> str:
        gate = "one Prometheus gate" if self.analysis else "no analysis (time-based)"
        return (
            f"N={self.canaries} Canaries in {self.namespaces} namespaces, "
            f"--workers {self.workers}, steps {list(self.weights)} every {self.interval}s "
            f"(ideal rollout {self.ideal_seconds:.0f}s), {gate}, --resync {self.resync:g}s, "
            f"idle watch {self.idle:g}s"
        )


# --------------------------------------------------------------------------- manifests


def namespace_of(index: int, settings: Settings) -> str:
    return f"scale-{index % settings.namespaces:03d}"


def app_name(index: int) -> str:
    return f"app-{index:05d}"


def gateway_class() -> JsonObj:
    return {
        "apiVersion": GATEWAYCLASS.api_version,
        "kind": "GatewayClass",
        "metadata": {"name": CLASS_NAME},
        "spec": {"controllerName": STAND_IN},
    }


def gateway(namespace: str) -> JsonObj:
    listener = {"name": "http", "port": 80, "protocol": "HTTP"}
    return {
        "apiVersion": GATEWAY.api_version,
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": namespace},
        "spec": {"gatewayClassName": CLASS_NAME, "listeners": [listener]},
    }


def service(name: str) -> JsonObj:
    """Headless: the control plane's 10.0.0.0/24 service range cannot hold thousands of IPs."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"clusterIP": "None", "ports": [{"port": 80}], "selector": {"app": name}},
    }


def route(name: str) -> JsonObj:
    backends = [
        {"name": f"{name}-stable", "port": 80, "weight": 100},
        {"name": f"{name}-canary", "port": 80, "weight": 0},
    ]
    return {
        "apiVersion": HTTPROUTE.api_version,
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "hostnames": [f"{name}.example.com"],
            "rules": [{"backendRefs": backends}],
        },
    }


def canary(name: str, settings: Settings) -> JsonObj:
    spec: JsonObj = {
        "routeRef": {"name": name},
        "stable": {"name": f"{name}-stable", "port": 80},
        "canary": {"name": f"{name}-canary", "port": 80},
        "steps": {"weights": list(settings.weights), "interval": f"{settings.interval}s"},
    }
    if settings.analysis:
        query = GAUGE + '{service="{{ canary_service }}"}'
        spec["analysis"] = {"metrics": [{"name": "success", "query": query, "min": 99}]}
    return {
        "apiVersion": CANARY.api_version,
        "kind": "Canary",
        "metadata": {"name": name},
        "spec": spec,
    }


Creation = tuple[Resource, JsonObj, str | None]


def world(settings: Settings) -> list[list[Creation]]:
    """What to create, in waves that depend on the previous ones."""
    namespaces = sorted({namespace_of(i, settings) for i in range(settings.namespaces)})
    first: list[Creation] = [(GATEWAYCLASS, gateway_class(), None)]
    first += [(NAMESPACE, {"metadata": {"name": ns}}, None) for ns in namespaces]
    second: list[Creation] = [(GATEWAY, gateway(ns), ns) for ns in namespaces]
    apps: list[Creation] = []
    canaries: list[Creation] = []
    for i in range(settings.canaries):
        ns, name = namespace_of(i, settings), app_name(i)
        apps += [(SERVICE, service(f"{name}-{role}"), ns) for role in ("stable", "canary")]
        apps.append((HTTPROUTE, route(name), ns))
        canaries.append((CANARY, canary(name, settings), ns))
    return [first, second, apps, canaries]


async def bounded(jobs: Iterable[Awaitable[object]], concurrency: int) -> None:
    """Await `jobs` with at most `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Awaitable[object]) -> None:
        async with gate:
            await job

    async with asyncio.TaskGroup() as group:
        for job in jobs:
            group.create_task(one(job))


async def populate(kube: Kube, settings: Settings) -> None:
    for wave in world(settings):
        await bounded((kube.create(r, body, ns) for r, body, ns in wave), settings.concurrency)


# --------------------------------------------------------------------------- watching


def key_of(obj: JsonObj) -> ObjKey:
    meta = obj.get("metadata", {})
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def generation(obj: JsonObj) -> int:
    return int(obj.get("metadata", {}).get("generation") or 0)


async def follow(kube: Kube, res: Resource, handle: Handler) -> None:
    """List, then watch `res` in every namespace until cancelled, telling `handle` each event."""
    version = ""
    while True:
        try:
            if not version:
                items, version = await kube.list(res)
                for obj in items:
                    handle("ADDED", obj)
            async for kind, obj in kube.watch(res, resource_version=version):
                version = str(obj.get("metadata", {}).get("resourceVersion") or version)
                if kind != "BOOKMARK":
                    handle(kind, obj)
        except Gone:
            version = ""
        except KubeError as exc:
            print(f"watch {res.plural} failed, retrying: {exc}", file=sys.stderr)
            await asyncio.sleep(0.5)


# --------------------------------------------------------------------------- the stand-in


def _condition(kind: str, generation: int, since: str) -> JsonObj:
    return {
        "type": kind,
        "status": "True",
        "reason": kind,
        "message": "stand-in gateway controller of benchmarks/scale.py",
        "observedGeneration": generation,
        "lastTransitionTime": since,
    }


def _ours(obj: JsonObj) -> JsonObj | None:
    parents = (obj.get("status") or {}).get("parents") or []
    return next((p for p in parents if p.get("controllerName") == STAND_IN), None)


def accepted_generation(route: JsonObj) -> int | None:
    for cond in (_ours(route) or {}).get("conditions") or []:
        if cond.get("type") == "Accepted":
            return int(cond.get("observedGeneration") or 0)
    return None


def route_status(route: JsonObj, now: str) -> JsonObj:
    """Accepted and ResolvedRefs for the route's generation; transition times are kept."""
    since = {c["type"]: c["lastTransitionTime"] for c in (_ours(route) or {}).get("conditions", [])}
    gen = generation(route)
    entry = {
        "parentRef": route["spec"]["parentRefs"][0],
        "controllerName": STAND_IN,
        "conditions": [_condition(t, gen, since.get(t, now)) for t in ("Accepted", "ResolvedRefs")],
    }
    return {"status": {"parents": [entry]}}


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class StandIn:
    """Plays the gateway controller: writes route status whenever a route's generation moves.

    `reactions` holds, per write, when it was answered and the seconds from the watch event
    that showed the new generation to then: gateway latency a rollout waits for, not ours.
    """

    kube: Kube
    writers: int
    writes: int = 0
    failures: int = 0
    reactions: list[tuple[float, float]] = field(default_factory=list)
    _latest: dict[ObjKey, JsonObj] = field(default_factory=dict)
    _written: dict[ObjKey, int] = field(default_factory=dict)
    _seen: dict[ObjKey, tuple[int, float]] = field(default_factory=dict)
    _queued: set[ObjKey] = field(default_factory=set)
    _queue: asyncio.Queue[ObjKey] = field(default_factory=asyncio.Queue)

    def _current(self, key: ObjKey, obj: JsonObj) -> bool:
        done = max(accepted_generation(obj) or 0, self._written.get(key, 0))
        return done >= generation(obj)

    def handle(self, kind: str, obj: JsonObj) -> None:
        key = key_of(obj)
        if kind == "DELETED":
            self._latest.pop(key, None)
            return
        self._latest[key] = obj
        if self._current(key, obj):
            return
        if self._seen.get(key, (0, 0.0))[0] != generation(obj):
            self._seen[key] = (generation(obj), time.time())
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def outstanding(self) -> int:
        return sum(not self._current(k, o) for k, o in self._latest.items())

    def routes(self) -> int:
        return len(self._latest)

    async def accept_class(self) -> None:
        accepted = _condition("Accepted", 1, utc_now())
        body = {"status": {"conditions": [accepted]}}
        await self.kube.patch(GATEWAYCLASS, CLASS_NAME, body, subresource="status")
        self.writes += 1

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(follow(self.kube, HTTPROUTE, self.handle))
            for _ in range(self.writers):
                group.create_task(self._writer())

    async def _writer(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            obj = self._latest.get(key)
            if obj is not None and not self._current(key, obj):
                await self._write(key, obj)

    async def _write(self, key: ObjKey, obj: JsonObj) -> None:
        namespace, name = key
        try:
            await self.kube.patch(
                HTTPROUTE,
                name,
                route_status(obj, utc_now()),
                namespace=namespace,
                subresource="status",
            )
        except KubeError as exc:
            self.failures += 1
            print(f"stand-in: status of {namespace}/{name} refused: {exc}", file=sys.stderr)
            return
        self.writes += 1
        self._written[key] = generation(obj)
        now = time.time()
        self.reactions.append((now, now - self._seen.get(key, (0, now))[1]))


# --------------------------------------------------------------------------- rollouts


@dataclass
class Rollouts:
    """Watches the Canaries: when each was first seen Progressing, and when Succeeded."""

    expected: int
    started: dict[ObjKey, float] = field(default_factory=dict)
    succeeded: dict[ObjKey, float] = field(default_factory=dict)
    phases: dict[ObjKey, str] = field(default_factory=dict)
    all_succeeded: asyncio.Event = field(default_factory=asyncio.Event)

    def handle(self, kind: str, obj: JsonObj) -> None:
        key, now = key_of(obj), time.time()
        phase = str((obj.get("status") or {}).get("phase") or "")
        self.phases[key] = phase
        if phase == "Progressing":
            self.started.setdefault(key, now)
        elif phase == "Succeeded" and key not in self.succeeded:
            self.succeeded[key] = now
            if len(self.succeeded) >= self.expected:
                self.all_succeeded.set()

    def census(self) -> str:
        counts = Counter(p or "(none)" for p in self.phases.values())
        return ", ".join(f"{phase} {n}" for phase, n in sorted(counts.items()))


# --------------------------------------------------------------------------- the operator


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mib(pid: int, name: str) -> float:
    """A `Vm*` line of /proc/<pid>/status (VmHWM: peak RSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class Reconciled:
    """One canonical `event=reconciled` line of the operator."""

    at: float
    canary: str
    phase: str
    wrote_route: bool
    wrote_status: bool
    ms: float


@dataclass
class OperatorLog:
    """Reads the operator's JSON log as it grows."""

    path: Path
    reconciles: list[Reconciled] = field(default_factory=list)
    succeeded: set[str] = field(default_factory=set)  # Canaries whose Succeeded was written
    synced_at: float | None = None
    problems: Counter[str] = field(default_factory=Counter)
    not_json: int = 0
    _offset: int = 0
    _rest: bytes = b""

    def poll(self) -> None:
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        self._offset += len(data)
        *lines, self._rest = (self._rest + data).split(b"\n")
        for raw in lines:
            self._take(raw)

    def _take(self, raw: bytes) -> None:
        if not raw.startswith(b"{"):
            self.not_json += bool(raw.strip())
            return
        line = json.loads(raw)
        at = datetime.fromisoformat(line["timestamp"]).timestamp()
        event = str(line.get("event", ""))
        if line.get("level") in ("warning", "error", "critical"):
            self.problems[f"{line['level']}: {event}"] += 1
        if event == "reconciled":
            done = Reconciled(
                at,
                str(line["canary"]),
                str(line["phase"]),
                bool(line["wrote_route"]),
                bool(line["wrote_status"]),
                float(line["duration_ms"]),
            )
            self.reconciles.append(done)
            if done.wrote_status and done.phase == "Succeeded":
                self.succeeded.add(done.canary)
        elif event.startswith("caches synced"):
            self.synced_at = at

    def between(self, start: float, end: float) -> list[Reconciled]:
        return [r for r in self.reconciles if start <= r.at < end]


class Operator:
    """`canary operator` as a real child process, with its log and /metrics."""

    def __init__(self, kubeconfig: Path, settings: Settings, workdir: Path, prometheus: str):
        port = free_port()
        self.metrics_url = f"http://{LOOPBACK}:{port}/metrics"
        self.started = time.time()
        self.child = Child(
            "operator",
            [
                sys.executable,
                "-m",
                "canary",
                "operator",
                f"--kubeconfig={kubeconfig}",
                "--log-format=json",
                f"--workers={settings.workers}",
                f"--resync={settings.resync}",
                f"--prometheus={prometheus}",
                f"--metrics-port={port}",
                f"--listen-address={LOOPBACK}",
            ],
            log_path=workdir / "operator.log",
        )
        self.log = OperatorLog(workdir / "operator.log")

    def tick(self) -> None:
        """Read the log so far; fail if the operator died."""
        if not self.child.alive():
            raise RuntimeError(f"the operator exited:\n{self.child.log_tail()}")
        self.log.poll()


@dataclass(frozen=True)
class Scrape:
    """One read of a /metrics page: the samples we look at, and what the read cost."""

    values: dict[str, float]  # "name{label=value,...}" -> value, only series without a Canary
    series: int
    size: int
    seconds: float

    def total(self, prefix: str) -> float:
        return sum(v for k, v in self.values.items() if k.startswith(prefix))


async def scrape(session: aiohttp.ClientSession, url: str) -> Scrape:
    started = time.perf_counter()
    async with session.get(url) as response:
        text = await response.text()
    seconds = time.perf_counter() - started
    values: dict[str, float] = {}
    series = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series += 1
            if "canary" not in sample.labels:
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                values[f"{sample.name}{{{labels}}}"] = sample.value
    return Scrape(values, series, len(text.encode()), seconds)


async def event_reasons(kube: Kube) -> Counter[str]:
    """Reasons of the Events the operator recorded, in every namespace."""
    items, _ = await kube.list(EVENT)
    return Counter(
        str(e.get("reason")) for e in items if e.get("reportingController") == "canary-operator"
    )


# --------------------------------------------------------------------------- the metric gate


@dataclass
class Gate:
    """With `--analysis`: a real Prometheus scraping one gauge per Canary (all passing)."""

    prometheus: PrometheusServer | None = None

    @property
    def url(self) -> str:
        return self.prometheus.url if self.prometheus else f"http://{LOOPBACK}:9"  # discard

    @property
    def pids(self) -> list[int]:
        return [self.prometheus.pid] if self.prometheus else []

    async def queries(self, session: aiohttp.ClientSession) -> int:
        """Instant queries Prometheus has answered so far (the operator is its only client)."""
        if self.prometheus is None:
            return 0
        read = await scrape(session, f"{self.prometheus.url}/metrics")
        return int(read.total("prometheus_http_requests_total{code=200,handler=/api/v1/query}"))


@contextlib.contextmanager
def metric_gate(settings: Settings, workdir: Path) -> Iterator[Gate]:
    if not settings.analysis:
        yield Gate()
        return
    with Exporter() as exporter:
        for i in range(settings.canaries):
            exporter.set_gauge(GAUGE, {"service": f"{app_name(i)}-canary"}, 100.0)
        targets = [ScrapeTarget(exporter.target)]
        workdir.mkdir(parents=True, exist_ok=True)
        with PrometheusServer(targets, scrape_interval="2s", workdir=workdir) as prometheus:
            prometheus.wait_until_scraped(timeout=90)
            yield Gate(prometheus)


# --------------------------------------------------------------------------- the API server


RequestKey = tuple[str, str, str]  # verb, resource, subresource
API_SERIES = ("apiserver_request_total", "apiserver_request_duration_seconds_sum")
HOUSEKEEPING = frozenset({"leases", "endpoints", "endpointslices"})  # the API server's own
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class ApiSnapshot:
    """The API server's request counters: how many, and the seconds it spent serving them."""

    counts: Counter[RequestKey]
    seconds: dict[RequestKey, float]

    def since(self, before: ApiSnapshot) -> ApiSnapshot:
        seconds = {k: v - before.seconds.get(k, 0.0) for k, v in self.seconds.items()}
        return ApiSnapshot(self.counts - before.counts, seconds)


def api_requests(plane: ControlPlane) -> ApiSnapshot:
    """Everyone's requests by verb, resource and subresource, from the API server's /metrics."""
    text = plane.kubectl("get", "--raw", "/metrics")
    wanted = "\n".join(line for line in text.splitlines() if line.startswith(API_SERIES))
    counts: Counter[RequestKey] = Counter()
    seconds: dict[RequestKey, float] = {}
    for family in text_string_to_metric_families(wanted):
        for sample in family.samples:
            labels = sample.labels
            if not labels.get("resource"):
                continue
            key = (labels["verb"], labels["resource"], labels.get("subresource", ""))
            if sample.name == API_SERIES[0]:
                counts[key] += int(sample.value)
            else:
                seconds[key] = seconds.get(key, 0.0) + sample.value
    return ApiSnapshot(counts, seconds)


def is_stand_in(key: RequestKey) -> bool:
    verb, res, sub = key
    return verb == "PATCH" and sub == "status" and res in ("httproutes", "gatewayclasses")


def is_operator(key: RequestKey) -> bool:
    """Everything but watches, the stand-in's writes and the API server's own housekeeping
    (the benchmark lists only before the operator starts, and reads Events after `done`)."""
    return key[0] != "WATCH" and not is_stand_in(key) and key[1] not in HOUSEKEEPING


# --------------------------------------------------------------------------- moments


@dataclass(frozen=True)
class Moment:
    """Every counter read at one instant; the report subtracts one moment from another."""

    at: float
    operator_cpu: float
    plane_cpu: float  # kube-apiserver + etcd
    prometheus_cpu: float
    bench_cpu: float  # this process: the stand-in, the watches, the exporter
    api: ApiSnapshot
    stand_in_writes: int
    queries: int  # answered by Prometheus (--analysis)


# --------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def spread(values: list[float], unit: str = "s") -> str:
    if not values:
        return "n/a"
    return (
        f"median {statistics.median(values):.2f}{unit}, p95 {percentile(values, 0.95):.2f}{unit}, "
        f"max {max(values):.2f}{unit}"
    )


@dataclass
class Run:
    """Everything measured in one run, for the report."""

    settings: Settings
    setup_seconds: float
    started: float  # the operator was spawned (wall clock, as every time here)
    synced: float
    moments: dict[str, Moment]  # "start", "done" (all Succeeded or timed out), "idle_end"
    peak_rss_mib: float
    rss_mib: float
    rollouts: Rollouts
    log: OperatorLog
    stand_in: StandIn
    metrics: Scrape  # the operator's /metrics at "done"
    scrape_cpu: float  # operator CPU seconds one /metrics read costs (at "idle_end")
    startup_cpu: float  # operator CPU seconds until its caches synced (imports, lists)
    queue_depths: list[tuple[float, float]]
    event_reasons: Counter[str]

    @property
    def done(self) -> float:
        return self.moments["done"].at

    @property
    def idle_end(self) -> float:
        return self.moments["idle_end"].at


def machine() -> str:
    model, memory = "unknown CPU", 0.0
    with contextlib.suppress(OSError):
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, kube-apiserver "
        f"{versions.KUBERNETES_VERSION}, etcd {versions.ETCD_VERSION} (no fsync)"
    )


def cpu_line(before: Moment, after: Moment) -> str:
    wall = after.at - before.at
    parts = [
        ("operator", after.operator_cpu - before.operator_cpu),
        ("apiserver+etcd", after.plane_cpu - before.plane_cpu),
        ("prometheus", after.prometheus_cpu - before.prometheus_cpu),
        ("benchmark process", after.bench_cpu - before.bench_cpu),
    ]
    shares = ", ".join(f"{n} {cpu:.1f}s ({cpu / wall:.0%})" for n, cpu in parts if cpu > 0)
    return f"  CPU over {wall:.1f}s (% of one core): {shares}"


def ratio_line(what: str, writes: Counter[str], expected: int, why: str, n: int) -> str:
    """Writes per Canary against the expectation, and how many Canaries met it exactly."""
    total = sum(writes.values())
    exact = sum(count == expected for count in writes.values())
    return (
        f"  {what}: {total} = {total / n:.2f} per Canary, expected {expected} ({why}): "
        f"ratio {total / n / expected:.3f}; {exact} Canaries exactly as expected"
    )


def rollout_section(run: Run) -> list[str]:
    s, r = run.settings, run.rollouts
    lags = [r.succeeded[k] - r.started[k] - s.ideal_seconds for k in r.succeeded if k in r.started]
    starts = [t - run.synced for t in r.started.values()]
    finished = len(r.succeeded)
    last = max(r.succeeded.values(), default=run.done)  # as the watch saw it
    verdict = "all" if finished == s.canaries else f"ONLY {finished} of {s.canaries}"
    return [
        "Rollouts",
        f"  operator start -> caches synced: {run.synced - run.started:.2f}s",
        f"  operator start -> {verdict} Succeeded: {last - run.started:.2f}s "
        f"(one rollout alone: {s.ideal_seconds:.0f}s)",
        f"  caches synced -> first step applied: {spread(starts)}",
        f"  scheduling lag (Succeeded - first step applied - {s.ideal_seconds:.0f}s): "
        f"{spread(lags)}",
    ]


def work_section(run: Run) -> list[str]:
    s, n = run.settings, run.settings.canaries
    start, done = run.moments["start"], run.moments["done"]
    lines = run.log.between(run.started, run.done)
    rate = len(lines) / max(run.done - run.synced, 1e-9)
    peak = max(Counter(int(r.at) for r in lines).values(), default=0)
    cpu = done.operator_cpu - run.startup_cpu
    out = [
        "Operator work until all Succeeded (its event=reconciled log lines)",
        f"  reconciles: {len(lines)} ({len(lines) / n:.1f} per Canary), {rate:.0f}/s on average "
        f"after sync, peak {peak}/s; duration {spread([r.ms for r in lines], 'ms')}",
        ratio_line(
            "route writes",
            Counter(r.canary for r in lines if r.wrote_route),
            s.expected_route_writes,
            "one per step + promotion",
            n,
        ),
        ratio_line(
            "status writes",
            Counter(r.canary for r in lines if r.wrote_status),
            s.expected_status_writes,
            "one per step + Promoting + Succeeded",
            n,
        ),
        f"  Events: {sum(run.event_reasons.values()) / n:.2f} per Canary "
        f"({', '.join(f'{k} {v}' for k, v in run.event_reasons.most_common())})",
    ]
    if s.analysis:
        queries = done.queries - start.queries
        out.append(f"  Prometheus queries: {queries} = {queries / n:.2f} per Canary")
    out += [
        "  API requests by the operator (apiserver_request_total; server time = mean time the "
        "API server took to serve one):",
        *requests_lines(start.api, done.api, done.at - start.at),
        cpu_line(start, done),
        f"  operator CPU: {run.startup_cpu:.1f}s to start and sync, then {1000 * cpu / n:.1f}ms "
        f"per Canary rollout; peak RSS "
        f"{run.peak_rss_mib:.0f} MiB (VmHWM), RSS at the end {run.rss_mib:.0f} MiB",
    ]
    return out


def requests_lines(before: ApiSnapshot, after: ApiSnapshot, seconds: float) -> list[str]:
    delta = after.since(before)
    operator = {k: v for k, v in delta.counts.items() if is_operator(k) and v}
    writes = sum(v for k, v in operator.items() if k[0] in MUTATING)
    out = [
        f"    {sum(operator.values())} requests, {writes} of them writes "
        f"({writes / max(seconds, 1e-9):.0f} writes/s)"
    ]
    for key, count in sorted(operator.items(), key=lambda kv: -kv[1]):
        verb, res, sub = key
        served = 1000 * delta.seconds.get(key, 0.0) / count
        what = f"{verb} {res}{'/' + sub if sub else ''}"
        out.append(f"      {what:30} {count:7}   server time {served:6.1f}ms")
    return out


def telemetry_section(run: Run) -> list[str]:
    m = run.metrics
    reconciles = m.total("canary_operator_reconcile_duration_seconds_count")
    errors = {k: v for k, v in m.values.items() if "api_errors" in k and v}
    out = [
        f"  its /metrics at the end: {reconciles:.0f} reconciles, API errors: {errors or 'none'}",
        f"  one /metrics read: {m.series} series, {m.size / 1024:.0f} KiB, {m.seconds * 1000:.0f}ms"
        f", about {run.scrape_cpu * 1000:.0f}ms of operator CPU (sampled every {SAMPLE_EVERY:g}s)",
    ]
    if run.queue_depths:
        at, depth = max(run.queue_depths, key=lambda td: td[1])
        out.append(f"  queue depth: peak {depth:.0f} ({at - run.synced:.0f}s after sync)")
    return out


def stand_in_section(run: Run) -> list[str]:
    m, n = run.moments, run.settings.canaries
    during = m["done"].stand_in_writes - m["start"].stand_in_writes
    idle = m["idle_end"].stand_in_writes - m["done"].stand_in_writes
    return [
        "Stand-in gateway controller (in the benchmark process; not the operator, not a real one)",
        f"  route status writes: {m['start'].stand_in_writes} during setup, {during} during the "
        f"rollouts ({during / n:.2f} per Canary), {idle} while idle; "
        f"{run.stand_in.failures} refused",
        f"  reaction during the rollouts (new generation seen -> status written): "
        f"{spread([took for at, took in run.stand_in.reactions if run.started <= at < run.done])}",
    ]


def idle_section(run: Run) -> list[str]:
    s, done, end = run.settings, run.moments["done"], run.moments["idle_end"]
    lines = run.log.between(run.done, run.idle_end)
    wall = end.at - done.at
    cpu = end.operator_cpu - done.operator_cpu
    return [
        f"Idle: {wall:.0f}s after all Succeeded, --resync {s.resync:g}s",
        f"  reconciles {len(lines)} (about N x {wall:.0f}/{s.resync:g} = "
        f"{s.canaries * wall / s.resync:.0f} expected), route writes "
        f"{sum(r.wrote_route for r in lines)}, status writes {sum(r.wrote_status for r in lines)} "
        "(0 and 0 expected)",
        f"  operator CPU per idle reconcile: {1000 * cpu / max(len(lines), 1):.2f}ms",
        cpu_line(done, end),
        "  API requests by the operator while idle (one LIST services every 3 minutes is the "
        "API server's own cluster-IP repair loop):",
        *requests_lines(done.api, end.api, wall),
    ]


def report(run: Run) -> list[str]:
    s = run.settings
    out = [
        f"Scale benchmark: {s.canaries} Canaries, one operator replica",
        f"  settings: {s.describe()}",
        f"  machine: {machine()}; everything below shares it",
        f"  setup: {s.canaries * 4 + 2 * s.namespaces + 1} objects created and every route "
        f"accepted in {run.setup_seconds:.1f}s",
        "  route status is written by a STAND-IN gateway controller, not a real one",
        *rollout_section(run),
        *work_section(run),
        *telemetry_section(run),
        *stand_in_section(run),
        *idle_section(run),
    ]
    found = ", ".join(f"{k} x{v}" for k, v in run.log.problems.most_common(8))
    out.append(f"Operator log: {found or 'no warnings'}; {run.log.not_json} non-JSON lines")
    return out


# --------------------------------------------------------------------------- the run


async def poll_until(
    check: Callable[[], bool], *, within: float, what: str, tick: Callable[[], None] = lambda: None
) -> None:
    """Poll `check` (calling `tick` first each time) until true; TimeoutError after `within`."""
    deadline = time.monotonic() + within
    while not check():
        tick()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


async def watch_progress(
    op: Operator,
    rollouts: Rollouts,
    session: aiohttp.ClientSession,
    depths: list[tuple[float, float]],
) -> None:
    """Tell the person at the terminal every 5 s; sample the queue depth now and then (each
    read of /metrics costs the operator CPU, so not more often than Prometheus would)."""
    last_sample = 0.0
    while True:
        await asyncio.sleep(5)
        if time.monotonic() - last_sample >= SAMPLE_EVERY:
            last_sample = time.monotonic()
            with contextlib.suppress(aiohttp.ClientError, OSError):
                read = await scrape(session, op.metrics_url)
                depths.append((time.time(), read.total("canary_operator_queue_depth")))
        depth = f"{depths[-1][1]:.0f}" if depths else "?"
        print(
            f"  +{time.time() - op.started:4.0f}s  {rollouts.census()}; queue depth {depth}",
            file=sys.stderr,
            flush=True,
        )


async def scrape_cost(op: Operator, session: aiohttp.ClientSession, idle_rate: float) -> float:
    """Operator CPU seconds one /metrics read costs, net of the idle work meanwhile (the
    mean of three reads; the body is not parsed inside the measurement)."""
    costs = []
    for _ in range(3):
        started, cpu = time.time(), cpu_seconds(op.child.pid)
        async with session.get(op.metrics_url) as response:
            await response.read()
        spent = cpu_seconds(op.child.pid) - cpu
        costs.append(max(0.0, spent - idle_rate * (time.time() - started)))
    return statistics.mean(costs)


@dataclass
class Context:
    """What one run works with."""

    settings: Settings
    plane: ControlPlane
    kube: Kube
    gate: Gate
    workdir: Path
    stand_in: StandIn
    rollouts: Rollouts
    setup_seconds: float = 0.0


async def moment(ctx: Context, session: aiohttp.ClientSession, op: Operator | None) -> Moment:
    own = resource.getrusage(resource.RUSAGE_SELF)
    at = time.time()
    return Moment(
        at=at,
        operator_cpu=cpu_seconds(op.child.pid) if op else 0.0,
        plane_cpu=sum(cpu_seconds(pid) for pid in ctx.plane.pids),
        prometheus_cpu=sum(cpu_seconds(pid) for pid in ctx.gate.pids),
        bench_cpu=own.ru_utime + own.ru_stime,
        api=await asyncio.to_thread(api_requests, ctx.plane),
        stand_in_writes=ctx.stand_in.writes,
        queries=await ctx.gate.queries(session),
    )


async def set_up(ctx: Context) -> None:
    """Create everything, and have the stand-in accept the class and every route."""
    started = time.time()
    await populate(ctx.kube, ctx.settings)
    await ctx.stand_in.accept_class()
    print(f"created in {time.time() - started:.1f}s", file=sys.stderr, flush=True)
    await poll_until(
        lambda: ctx.stand_in.routes() == ctx.settings.canaries and not ctx.stand_in.outstanding(),
        within=300,
        what="the stand-in to accept every route",
    )
    ctx.setup_seconds = time.time() - started
    print(f"every route accepted after {ctx.setup_seconds:.1f}s", file=sys.stderr, flush=True)


async def run_operator(ctx: Context) -> Run:
    """Start the operator, wait for every rollout, watch it idle; stop it whatever happens."""
    s = ctx.settings
    depths: list[tuple[float, float]] = []
    async with aiohttp.ClientSession() as session:
        start = await moment(ctx, session, None)
        op = Operator(ctx.plane.kubeconfig, s, ctx.workdir, ctx.gate.url)
        moments = {"start": replace(start, at=op.started)}
        progress = asyncio.create_task(watch_progress(op, ctx.rollouts, session, depths))
        try:
            await poll_until(
                lambda: op.log.synced_at is not None, within=120, what="sync", tick=op.tick
            )
            startup_cpu = cpu_seconds(op.child.pid)
            with contextlib.suppress(TimeoutError):
                await poll_until(
                    ctx.rollouts.all_succeeded.is_set, within=s.timeout, what="all", tick=op.tick
                )
            with contextlib.suppress(TimeoutError):  # its log line follows the write
                await poll_until(
                    lambda: len(op.log.succeeded) >= s.canaries, within=30, what="log", tick=op.tick
                )
            moments["done"] = await moment(ctx, session, op)
            metrics = await scrape(session, op.metrics_url)
            print(f"all Succeeded; idle for {s.idle:g}s", file=sys.stderr, flush=True)
            await asyncio.sleep(max(0.0, moments["done"].at + s.idle - time.time()))
            moments["idle_end"] = end = await moment(ctx, session, op)
            idle_rate = (end.operator_cpu - moments["done"].operator_cpu) / s.idle
            cost = await scrape_cost(op, session, idle_rate)
            peak, rss = status_mib(op.child.pid, "VmHWM"), status_mib(op.child.pid, "VmRSS")
        finally:
            progress.cancel()
            op.child.stop()
            if s.keep_log is not None:
                shutil.copyfile(op.log.path, s.keep_log)
    op.log.poll()
    return Run(
        settings=s,
        setup_seconds=ctx.setup_seconds,
        started=op.started,
        synced=op.log.synced_at or op.started,
        moments=moments,
        peak_rss_mib=peak,
        rss_mib=rss,
        rollouts=ctx.rollouts,
        log=op.log,
        stand_in=ctx.stand_in,
        metrics=metrics,
        scrape_cpu=cost,
        startup_cpu=startup_cpu,
        queue_depths=depths,
        event_reasons=await event_reasons(ctx.kube),
    )


async def bench(plane: ControlPlane, gate: Gate, settings: Settings, workdir: Path) -> Run:
    main = asyncio.current_task()
    if main is not None:  # SIGTERM cleans up like Ctrl-C
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    kube = await Kube.connect(kubeconfig=plane.kubeconfig, field_manager="scale-benchmark")
    async with kube, asyncio.TaskGroup() as group:
        stand_in = StandIn(kube, writers=settings.concurrency)
        ctx = Context(settings, plane, kube, gate, workdir, stand_in, Rollouts(settings.canaries))
        tasks = [
            group.create_task(stand_in.run()),
            group.create_task(follow(kube, CANARY, ctx.rollouts.handle)),
        ]
        try:
            await set_up(ctx)
            return await run_operator(ctx)
        finally:
            for task in tasks:
                task.cancel()


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--canaries", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4, help="the operator's --workers")
    parser.add_argument("--interval", type=int, default=5, help="seconds per step")
    parser.add_argument("--weights", default="25,50", help="step weights, comma-separated")
    parser.add_argument(
        "--analysis", action="store_true", help="gate every step on a real Prometheus query"
    )
    parser.add_argument("--resync", type=float, default=10.0, help="the operator's --resync")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds watched when idle")
    parser.add_argument("--timeout", type=float, default=600.0, help="for all to succeed")
    parser.add_argument("--concurrency", type=int, default=32, help="setup/stand-in writes")
    parser.add_argument("--keep-log", type=Path, help="copy the operator's JSON log here")
    args = parser.parse_args(argv)
    # Every option by its field's name; two of them need more than that.
    given = {f.name: getattr(args, f.name) for f in fields(Settings)}
    return Settings(
        **{
            **given,
            "namespaces": min(args.namespaces, args.canaries),
            "weights": tuple(int(w) for w in args.weights.split(",")),
        }
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    print(f"scale benchmark: {settings.describe()}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="canary-scale-") as tmp:
        work = Path(tmp)
        try:
            with (
                ControlPlane(
                    workdir=work / "controlplane", extra_crd_dirs=[REPO / "crds"]
                ) as plane,
                metric_gate(settings, work / "prometheus") as gate,
            ):
                print(f"control plane ready in {plane.ready_seconds:.1f}s", file=sys.stderr)
                run = asyncio.run(bench(plane, gate, settings, work))
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted: operator, stand-in and control plane stopped", file=sys.stderr)
            return 130
    print("\n".join(report(run)))
    return 0 if len(run.rollouts.succeeded) == settings.canaries else 1


if __name__ == "__main__":
    sys.exit(main())

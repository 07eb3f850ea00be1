"""The operator's own Prometheus metrics: rollout state per Canary and control-loop health.

Recording only: callers report facts (a status written, a reconcile finished, an API error) and
this module turns them into series. It never decides anything and never talks to Kubernetes.
The metric names are a public contract: the Grafana dashboard and docs/install.md use them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from canary.api.status import CanaryStatus, Phase

WatchRestarts = Callable[[], Iterable[tuple[str, str, int]]]  # (resource, namespace, restarts)
RECONCILE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CANARY_LABELS = ("namespace", "canary")


class OperatorMetrics:
    """Every series the operator exports, on its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.weight = Gauge(
            "canary_operator_canary_weight_percent",
            "Traffic percent the operator has given the canary backend.",
            CANARY_LABELS,
            registry=r,
        )
        self.step = Gauge(
            "canary_operator_canary_step",
            "1-based step in force (0: no step applied yet).",
            CANARY_LABELS,
            registry=r,
        )
        self.steps = Gauge(
            "canary_operator_canary_steps",
            "Number of steps in the Canary's schedule.",
            CANARY_LABELS,
            registry=r,
        )
        self.phase = Gauge(
            "canary_operator_canary_phase",
            "1 for the Canary's current phase, 0 for every other phase.",
            (*CANARY_LABELS, "phase"),
            registry=r,
        )
        self.checks = Counter(
            "canary_operator_metric_checks",
            "Metric gate results, by verdict (Pass, Fail, Inconclusive).",
            (*CANARY_LABELS, "metric", "verdict"),
            registry=r,
        )
        self.promoted = Counter(
            "canary_operator_rollouts_promoted",
            "Rollouts that reached Succeeded.",
            CANARY_LABELS,
            registry=r,
        )
        self.rolled_back = Counter(
            "canary_operator_rollouts_rolled_back",
            "Rollouts that were rolled back.",
            CANARY_LABELS,
            registry=r,
        )
        self.reconcile_seconds = Histogram(
            "canary_operator_reconcile_duration_seconds",
            "Time of one reconcile, by result (done, requeue, retry, error, permanent_error).",
            ("result",),
            buckets=RECONCILE_BUCKETS,
            registry=r,
        )
        self.api_errors = Counter(
            "canary_operator_api_errors",
            "Failed Kubernetes API requests, by verb and HTTP code (0: server not reached).",
            ("verb", "code"),
            registry=r,
        )
        self.leader = Gauge(
            "canary_operator_leader",
            "1 while this replica holds the leader Lease (or runs without leader election).",
            registry=r,
        )
        self._loop = _ControlLoopCollector()
        r.register(self._loop)
        for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(standard)  # process_*, python_*: memory, CPU, file descriptors, GC

    def record_status(
        self, namespace: str, name: str, *, old: CanaryStatus, new: CanaryStatus
    ) -> None:
        """A status was written: update the Canary's gauges and count what happened."""
        labels = (namespace, name)
        self.weight.labels(*labels).set(new.canary_weight)
        self.step.labels(*labels).set(new.current_step)
        self.steps.labels(*labels).set(new.total_steps)
        for phase in Phase:
            self.phase.labels(*labels, str(phase)).set(1 if phase is new.phase else 0)
        if new.last_check_time is not None and new.last_check_time != old.last_check_time:
            results = [*new.metrics, *([new.request_count] if new.request_count else [])]
            for result in results:
                self.checks.labels(*labels, result.name, str(result.verdict)).inc()
        if new.phase is not old.phase:
            if new.phase is Phase.SUCCEEDED:
                self.promoted.labels(*labels).inc()
            elif new.phase is Phase.ROLLED_BACK:
                self.rolled_back.labels(*labels).inc()

    def forget_canary(self, namespace: str, name: str) -> None:
        """The Canary is gone: drop its gauges (counters stay until the process restarts)."""
        for gauge in (self.weight, self.step, self.steps):
            _remove(gauge, namespace, name)
        for phase in Phase:
            _remove(self.phase, namespace, name, str(phase))

    def record_reconcile(self, result: str, seconds: float) -> None:
        self.reconcile_seconds.labels(result).observe(seconds)

    def record_api_error(self, verb: str, code: int) -> None:
        self.api_errors.labels(verb, str(code)).inc()

    def set_leader(self, leading: bool) -> None:
        self.leader.set(1 if leading else 0)

    def watch_control_loop(
        self, *, queue_depth: Callable[[], int], watch_restarts: WatchRestarts
    ) -> None:
        """Read queue depth and watch restarts from the running manager at scrape time."""
        self._loop.attach(queue_depth, watch_restarts)


class _ControlLoopCollector(Collector):
    """Queue depth and watch restarts, read from the manager when Prometheus scrapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue_depth: Callable[[], int] = lambda: 0
        self._restarts: WatchRestarts = list

    def attach(self, queue_depth: Callable[[], int], watch_restarts: WatchRestarts) -> None:
        with self._lock:
            self._queue_depth, self._restarts = queue_depth, watch_restarts

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            queue_depth, restarts = self._queue_depth, self._restarts
        depth = GaugeMetricFamily(
            "canary_operator_queue_depth", "Canary keys waiting for a worker."
        )
        depth.add_metric([], queue_depth())
        yield depth
        family = CounterMetricFamily(
            "canary_operator_watch_restarts",
            "Watches restarted (expired or dropped), by resource and namespace ('' = all).",
            labels=("resource", "namespace"),
        )
        for resource, namespace, count in restarts():
            family.add_metric([resource, namespace], count)
        yield family


def _remove(metric: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never recorded for this Canary
        metric.remove(*labels)


def serve_metrics(metrics: OperatorMetrics, *, address: str, port: int) -> Callable[[], None]:
    """Serve /metrics from prometheus-client's own thread; returns a function that stops it."""
    server, thread = start_http_server(port, addr=address, registry=metrics.registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


METRICS = OperatorMetrics()
"""The process's metrics; code that records facts imports this one instance."""

"""How fast a failing canary loses its traffic, in the demo sandbox with the real operator:
before comparison gates and after, in the same run on the same machine.

Three Canaries, taking turns run by run with the same injection moments (so machine load and
the moment of the fault weigh on all alike):

- before (`Gates.THRESHOLDS`): the errors gate is a success-rate threshold (>= 99 %) checked at
  the end of each step interval, rolled back after `failureThreshold` failed checks (the demo's
  Canary before comparison gates);
- after (`Gates.BOTH`, the demo's Canary now): the errors are also compared with the stable
  backend's (Contour's per-backend series, tolerance 1 pp, `onInconclusive: Pass`), looked at
  every `sequential.every` and rolled back at once on conclusive harm; the threshold still holds
  the step while the evidence comes in;
- comparison only (`Gates.COMPARISON`): the comparison without the threshold gate, so a check
  that finds it not yet conclusive lets the canary advance (`onInconclusive: Pass`).

Each run: the Canary rolls v3 out over a healthy v2 (story 2 of the demo, without its fault);
at a random moment of the first step's check cycle 30 % errors are injected into v3. Measured:

- from the injection, and from the first Prometheus sample that shows it (the first scrape of
  Envoy's 5xx counter for v3 above its value before the injection),
- to (a) the route declaring weight 0 for v3, and (b) the last request v3 served through Envoy
  (the latest answer from v3 that the steady load received).

Envoy takes a new route within milliseconds, so (b) is (a) minus the random gap to the next
request v3 would have had (v3 gets 10 % of 60 req/s: 0.17 s on average).

Then v3 is healed and the rollout retried (`spec.requests.retry`) for the next run. Medians and
p95s are printed per Canary with the settings that bound them, and the ratio of the medians
(before / each after). Not part of the test command:

    .venv/bin/python benchmarks/rollback_reaction.py [--runs 5] [--interval 10] [--seed 1]
        [--gates thresholds,both,comparison] [--quick] [--workdir DIR]

`--runs` is per Canary; `--quick` is 2 runs each.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from canary.api.status import Phase
from canary.kube.resources import CANARY, HTTPROUTE
from canary.sandbox.cluster import pods_running, prepare
from canary.sandbox.controlplane.launcher import ControlPlane
from canary.sandbox.demo import manifests as m
from canary.sandbox.demo import observe
from canary.sandbox.demo.settings import DemoSettings
from canary.sandbox.demo.stories import Story, begin_story_two, finish
from canary.sandbox.demo.summary import harm
from canary.sandbox.demo.world import DemoWorld
from canary.sandbox.prometheus import PrometheusServer
from canary.telemetry import logging as canary_logging

CRDS = Path(__file__).resolve().parents[1] / "crds"
WALL = time.time() - time.monotonic()  # monotonic -> wall clock (Prometheus timestamps)


Gates = m.Gates
LABEL = {
    Gates.THRESHOLDS: "before (threshold gates)",
    Gates.BOTH: "after (comparison + threshold gates)",
    Gates.COMPARISON: "comparison only",
}


@dataclass(frozen=True)
class Run:
    gates: Gates
    injected: float  # wall-clock seconds, as all four below
    first_sample: float
    route_zero: float
    last_served: float
    step: int  # the step the rollback came from
    by_comparison: bool  # rolled back on a comparison's conclusive harm


async def _route_zero(world: DemoWorld, resource_version: str) -> float:
    """Watch the route from `resource_version` until it declares weight 0 for v3; return the
    wall-clock time the watch event arrived (a watch, not polling: milliseconds matter)."""
    async for kind, obj in world.kube.watch(
        HTTPROUTE, world.settings.namespace, resource_version=resource_version
    ):
        if kind == "MODIFIED" and observe.declared_weights(obj).get("v3") == 0:
            return time.time()
    raise RuntimeError("the route watch ended before the rollback")


async def _first_error_sample(world: DemoWorld, injected: float) -> float:
    """The timestamp of the first scrape whose v3 5xx counter exceeds its pre-injection value."""
    # Contour's Envoy names the cluster's stats `namespace_service_port` (as the templates).
    cluster = f"{world.settings.namespace}_{m.service('v3')}_{m.PORT}"
    series = (
        f'envoy_cluster_upstream_rq_xx{{envoy_cluster_name="{cluster}",'
        'envoy_response_code_class="5"}'
    )
    seconds = int(time.time() - injected) + 30
    params = {"query": f"{series}[{seconds}s]", "time": f"{time.time():.3f}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{world.prometheus.url}/api/v1/query", params=params) as response,
    ):
        body = await response.json()
    samples = [(float(t), float(v)) for r in body["data"]["result"] for t, v in r["values"]]
    before = max((v for t, v in samples if t < injected), default=0.0)
    return min(t for t, v in samples if t >= injected and v > before)


async def _one_run(
    world: DemoWorld, gates: Gates, delay: float, story: Story | None
) -> tuple[Run, Story]:
    s = world.settings
    if story is None:
        story = await begin_story_two(world, inject_fault=False, gates=gates)
    else:
        # The user's edits: this run's Canary (a no-op when unchanged), then a retry.
        await world.apply(CANARY, m.canary(s, stable="v2", canary="v3", gates=gates))
        retry = {"spec": {"requests": {"retry": f"bench-{time.time_ns()}"}}}
        await world.kube.patch(CANARY, m.CANARY_NAME, retry, namespace=s.namespace)
    step = {"v2": 100 - s.weights[0], "v3": s.weights[0]}
    await observe.wait_for_envoy(world, step, within=60)
    # Inject at a random phase of the check cycle, so the runs cover the range of reactions.
    await asyncio.sleep(delay)
    version = (await observe.route(world))["metadata"]["resourceVersion"]
    watch = asyncio.create_task(_route_zero(world, version))
    injected = time.time()
    await world.set_faults("v3", error_rate=s.bad_error_rate)
    async with asyncio.timeout(s.interval * (s.failure_threshold + 3) + 60):
        route_zero = await watch
        dropped = await observe.wait_for_envoy(world, {"v2": 100, "v3": 0})
        await world.load.wait_for(int(2 * s.rate), since=dropped)  # answers in flight land
    served = [r.started + r.latency for r in world.load.results() if r.version == "v3"]
    result = await finish(world, story)
    if result.status.phase is not Phase.ROLLED_BACK:
        raise RuntimeError(
            f"expected a rollback, got {result.status.phase}: {result.status.message}"
        )
    await world.set_faults("v3", error_rate=0.0)
    first_sample = await _first_error_sample(world, injected)
    status = result.status
    run = Run(
        gates,
        injected,
        first_sample,
        route_zero,
        WALL + max(served),
        step=status.current_step,
        by_comparison=harm(status) is not None,
    )
    return run, story


def _stats(values: list[float]) -> str:
    """Median and p95 (linear interpolation between the runs, as numpy's default)."""
    ordered = sorted(values)
    rank = 0.95 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    p95 = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return f"{statistics.median(ordered):7.2f}s {p95:7.2f}s"


ROWS = (
    "fault injected -> route at 0%",
    "fault injected -> last v3 answer",
    "first error sample -> route at 0%",
    "first error sample -> last v3 answer",
    "(fault injected -> first error sample)",
)


def _rows(runs: list[Run]) -> dict[str, list[float]]:
    values = (
        [r.route_zero - r.injected for r in runs],
        [r.last_served - r.injected for r in runs],
        [r.route_zero - r.first_sample for r in runs],
        [r.last_served - r.first_sample for r in runs],
        [r.first_sample - r.injected for r in runs],
    )
    return dict(zip(ROWS, values, strict=True))


def _expected(gates: Gates, settings: DemoSettings) -> str:
    if gates is Gates.THRESHOLDS:
        low, high = (
            (settings.failure_threshold - 1) * settings.interval,
            settings.failure_threshold * settings.interval,
        )
        return (
            f"expected: the first failing check within one interval of the fault, the rollback "
            f"{settings.failure_threshold - 1} interval(s) later: {low}-{high}s plus scrape and "
            "reconcile time."
        )
    canary_rate = settings.rate * settings.weights[0] / 100
    held = (
        "the threshold holds v3 at its step meanwhile"
        if gates is Gates.BOTH
        else "shorter when a check that finds it not yet conclusive moves v3 to the next step"
    )
    return (
        f"expected: as soon as the comparison is conclusive, at a look every "
        f"{settings.look_every}s: about 60 failing-canary requests at 30 % errors (10s at "
        f"{canary_rate:g} req/s to v3 at the {settings.weights[0]}% step; {held}), whatever "
        "the step interval."
    )


def report(runs: list[Run], settings: DemoSettings) -> list[str]:
    out = [
        f"Rollback reaction over {len(runs)} runs",
        f"  settings: {settings.describe()}",
        f"  v3 fails {settings.bad_error_rate:.0%} of its requests from a random moment of the "
        f"{settings.weights[0]}% step; threshold gates query a {settings.interval}s window, the "
        "comparison everything since the rollout started",
    ]
    medians: dict[Gates, dict[str, float]] = {}
    for gates in Gates.THRESHOLDS, Gates.BOTH, Gates.COMPARISON:
        mine = [r for r in runs if r.gates is gates]
        if not mine:
            continue
        rows = _rows(mine)
        medians[gates] = {name: statistics.median(v) for name, v in rows.items()}
        decided = sum(r.by_comparison for r in mine)
        steps = "/".join(str(r.step) for r in mine)
        out += [
            f"  {LABEL[gates]}: {len(mine)} runs, {decided} rolled back by the comparison, "
            f"from steps {steps}",
            f"    {'':40} {'median':>8} {'p95':>8}",
        ]
        out += [f"    {name:40} {_stats(values)}" for name, values in rows.items()]
        out.append(f"    {_expected(gates, settings)}")
        out.append("    per run (s): injected -> sample, -> route 0%, -> last v3 answer")
        out += [
            f"      {i}: {r.first_sample - r.injected:6.2f} {r.route_zero - r.injected:6.2f} "
            f"{r.last_served - r.injected:6.2f}"
            for i, r in enumerate(mine, 1)
        ]
    before = medians.get(Gates.THRESHOLDS)
    for gates in Gates.BOTH, Gates.COMPARISON:
        after = medians.get(gates)
        if before is None or after is None:
            continue
        out.append(f"  before / {LABEL[gates]} (ratio of the medians):")
        out += [
            f"    {name:40} {before[name]:7.2f}s / {after[name]:5.2f}s = "
            f"{before[name] / after[name]:.2f}x"
            for name in ROWS[:4]
            if after[name] > 0
        ]
    out.append(
        "  The last v3 answer precedes the route change by the gap to the next request v3 would "
        "have had."
    )
    return out


async def bench(
    plane: ControlPlane,
    prometheus: PrometheusServer,
    *,
    settings: DemoSettings,
    runs: int,
    seed: int,
    workdir: Path,
    modes: tuple[Gates, ...],
) -> list[Run]:
    rng = random.Random(seed)
    done: list[Run] = []
    story: Story | None = None
    async with (
        pods_running(plane, workdir) as _,
        DemoWorld(plane.kubeconfig, prometheus, settings=settings, workdir=workdir) as world,
    ):
        for i in range(runs):
            delay = rng.uniform(0, settings.interval)  # the same moment for each Canary
            for gates in modes:
                run, story = await _one_run(world, gates, delay, story)
                done.append(run)
                how = "by the comparison" if run.by_comparison else "after failed checks"
                print(
                    f"run {i + 1}/{runs}, {LABEL[gates]}: route at 0% "
                    f"{run.route_zero - run.injected:.2f}s after the fault ({how}, from step "
                    f"{run.step})",
                    file=sys.stderr,
                    flush=True,
                )
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="runs per Canary")
    parser.add_argument(
        "--interval",
        type=int,
        default=DemoSettings().interval,
        help="step interval and metric window, seconds",
    )
    parser.add_argument("--seed", type=int, default=1, help="seeds the injection moments")
    parser.add_argument(
        "--gates",
        default="thresholds,both,comparison",
        help="the Canaries to measure, in turn: thresholds (before), both (after: the demo's), "
        "comparison (the comparison alone)",
    )
    parser.add_argument("--quick", action="store_true", help="2 runs per Canary")
    parser.add_argument(
        "--workdir", type=Path, help="keep state and logs (the operator's: demo/logs) here"
    )
    args = parser.parse_args(argv)
    try:
        modes = tuple(Gates(g.strip()) for g in args.gates.split(","))
    except ValueError:
        parser.error(f"--gates: a comma-separated list of {', '.join(Gates)}")
    runs_each = 2 if args.quick else args.runs
    canary_logging.configure(json=False, level="warning")
    settings = DemoSettings(interval=args.interval).but(namespace="bench", class_name="bench")
    prepare()  # builds what is missing, then enters the sandbox's own network namespace
    with tempfile.TemporaryDirectory(prefix="canary-bench-") as tmp:
        work = args.workdir or Path(tmp)
        with (
            ControlPlane(workdir=work / "controlplane", extra_crd_dirs=[CRDS]) as plane,
            PrometheusServer(scrape_interval=f"{settings.scrape_interval}s") as prometheus,
        ):
            runs = asyncio.run(
                bench(
                    plane,
                    prometheus,
                    settings=settings,
                    runs=runs_each,
                    seed=args.seed,
                    workdir=work / "demo",
                    modes=modes,
                )
            )
    print("\n".join(report(runs, settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

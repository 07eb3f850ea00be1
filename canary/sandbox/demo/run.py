"""`canary demo` from start to end: the control plane and Prometheus, the demo world around them,
both stories under the live view, the summary, and a clean stop (or, with `keep`, everything
left running until Ctrl-C). Returns the exit code: 0 only when both stories ended as expected.

In-process logs go to a file, never to the screen; option parsing is `canary.cli.demo`'s job.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import IO

import structlog
import yaml
from rich.console import Console

from canary.api.crd import canary_crd
from canary.kube.errors import KubeError
from canary.sandbox.cluster import pods_running, prepare
from canary.sandbox.controlplane.launcher import ControlPlane
from canary.sandbox.demo.frames import Tracker
from canary.sandbox.demo.keep import keep_running
from canary.sandbox.demo.screen import DemoScreen
from canary.sandbox.demo.settings import DemoSettings
from canary.sandbox.demo.stories import (
    StoryResult,
    aftermath,
    begin_story_one,
    begin_story_two,
    finish,
)
from canary.sandbox.demo.summary import LoadTotals, all_as_expected, summary_lines
from canary.sandbox.demo.world import DemoWorld
from canary.sandbox.prometheus import PrometheusServer

FAILED = 1  # as `canary.cli.exitcodes.ExitCode.FAILED`: the stories did not both end well


def run_demo(
    settings: DemoSettings, *, keep: bool = False, workdir: Path | None = None, console: Console
) -> int:
    prepare()  # builds what is missing, then enters the sandbox's own network namespace
    work = workdir or Path(tempfile.mkdtemp(prefix="canary-demo-"))
    log_file = _log_to_file(work / "logs" / "demo.log")
    code = FAILED
    try:
        console.print(f"Starting the sandbox (state and logs in {work})")
        crds = work / "crds"
        crds.mkdir(parents=True, exist_ok=True)
        (crds / "canaries.yaml").write_text(yaml.safe_dump(canary_crd()))
        (work / "prometheus").mkdir(exist_ok=True)
        with (
            ControlPlane(workdir=work / "controlplane", extra_crd_dirs=[crds]) as plane,
            PrometheusServer(
                scrape_interval=f"{settings.scrape_interval}s", workdir=work / "prometheus"
            ) as prometheus,
        ):
            console.print(
                f"  control plane (etcd + kube-apiserver) ready in {plane.ready_seconds:.1f}s"
            )
            code = asyncio.run(
                _main(
                    plane,
                    prometheus,
                    settings=settings,
                    keep=keep,
                    work=work,
                    console=console,
                )
            )
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.print("Interrupted: everything the demo started is stopped.")
        code = FAILED
    except (RuntimeError, TimeoutError, OSError) as exc:  # the control plane or Prometheus
        console.print(f"The sandbox could not start: {exc}", soft_wrap=True, markup=False)
        code = FAILED
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
        log_file.close()
        if workdir is None and code == 0:
            shutil.rmtree(work, ignore_errors=True)
        elif code != 0:
            console.print(
                f"Logs are kept in {work} (operator: {work / 'logs' / 'operator.log'})",
                soft_wrap=True,
                markup=False,
            )
    return code


async def _main(
    plane: ControlPlane,
    prometheus: PrometheusServer,
    *,
    settings: DemoSettings,
    keep: bool,
    work: Path,
    console: Console,
) -> int:
    main_task = asyncio.current_task()
    if main_task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    started = time.monotonic()
    try:
        async with (
            pods_running(plane, work) as _,
            DemoWorld(plane.kubeconfig, prometheus, settings=settings, workdir=work) as world,
        ):
            apps = (
                f"Deployment app ({settings.replicas} Pods of demoapp:v1, now the operator's "
                "primary)"
                if settings.workload
                else f"3 demo versions ({settings.replicas} Pods each)"
            )
            console.print(
                f"  controllers and node agent, Contour and Envoy, {apps}, Prometheus, load at "
                f"{settings.rate:g} req/s and the operator up in {time.monotonic() - started:.0f}s"
            )
            results = await _stories(world, console, started)
            traffic = _traffic(world)
            for line in summary_lines(
                results, traffic, seconds=time.monotonic() - started, settings=settings
            ):
                console.print(line, soft_wrap=True, highlight=False, markup=False)
            code = 0 if all_as_expected(results) else FAILED
            if keep:
                await keep_running(world, console)
            return code
    except (TimeoutError, RuntimeError, KubeError) as exc:
        console.print(f"The demo failed: {exc}", soft_wrap=True, markup=False)
        return FAILED


async def _stories(world: DemoWorld, console: Console, started: float) -> list[StoryResult]:
    results: list[StoryResult] = []
    async with DemoScreen(console, Tracker(world, started=started)) as screen:
        screen.done = results
        for begin in (begin_story_one, begin_story_two):
            screen.story = await begin(world)
            result = await finish(world, screen.story)
            await screen.draw()  # the final phase, before the aftermath's traffic
            results.append(await aftermath(world, result))
            await screen.draw()
    return results


def _traffic(world: DemoWorld) -> LoadTotals:
    tally = world.load.tally()
    failed = sum(n for code, n in tally.by_status.items() if code >= 500 or code == 0)
    return LoadTotals(dict(tally.by_version), failed)


def _log_to_file(path: Path) -> IO[str]:
    """structlog and stdlib logging of this process to `path`, so the live view stays clean."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=handle),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    root.handlers = [logging.StreamHandler(handle)]
    root.setLevel(logging.WARNING)
    return handle

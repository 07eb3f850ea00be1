"""One container of a Pod as a local process: started, watched, restarted per the Pod's
restartPolicy (with a short capped backoff), stopped with SIGTERM then SIGKILL."""

from __future__ import annotations

import asyncio
import datetime
import time
from dataclasses import replace
from pathlib import Path

from canary.sandbox.nodeagent.images import ImageRef, Launch
from canary.sandbox.nodeagent.probes import Readiness
from canary.sandbox.nodeagent.status import (
    CRASH_LOOP_BACK_OFF,
    CREATE_CONTAINER_ERROR,
    ContainerView,
    State,
    Termination,
    rfc3339,
)
from canary.sandbox.processes import Child

# The kubelet backs off 10 s doubling to 5 min; the sandbox wants quick feedback.
BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0


def _now() -> str:
    return rfc3339(datetime.datetime.now(datetime.UTC))


def restarts(policy: str, exit_code: int) -> bool:
    """Whether a container that exited with `exit_code` is started again under `policy`."""
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


class ContainerProcess:
    """The runs of one container. `poll()` notices an exit and restarts when due."""

    def __init__(
        self,
        name: str,
        image: str,
        launch: Launch,
        readiness: Readiness,
        *,
        restart_policy: str,
        log_path: Path,
    ) -> None:
        self.name, self.image, self.launch = name, image, launch
        self.readiness = readiness
        self.restart_policy = restart_policy
        self.log_path = log_path
        self.image_id = ImageRef.parse(image).image_id
        self.child: Child | None = None
        self.restart_count = 0
        self.started_at = ""
        self.started_mono = 0.0
        self.next_probe = 0.0
        self.last: Termination | None = None
        self.restart_at: float | None = None
        self.finished = False
        self.error = ""

    def start(self) -> None:
        self.readiness.reset()
        self.restart_at = None
        try:
            self.child = Child(
                self.name, self.launch.argv, log_path=self.log_path, env=self.launch.env
            )
        except OSError as exc:
            self.child, self.error = None, f"cannot start {self.launch.argv[0]}: {exc}"
            self.finished = True
            return
        self.started_at, self.started_mono = _now(), time.monotonic()
        probe = self.readiness.probe
        self.next_probe = self.started_mono + (probe.initial_delay if probe else 0)

    def running(self) -> bool:
        return self.child is not None and self.child.alive()

    def poll(self) -> bool:
        """Notice an exit, or restart after the backoff; return whether anything changed."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now < self.restart_at:
                return False
            self.restart_count += 1
            self.start()
            return True
        if self.child is None or self.child.alive():
            return False
        code = self.child.process.returncode
        self.child.stop()  # reaped already; closes the log
        self.child = None
        self.readiness.ready = False
        self.last = Termination(code, self.started_at, _now())
        if restarts(self.restart_policy, code):
            backoff = min(BACKOFF_SECONDS * 2**self.restart_count, MAX_BACKOFF_SECONDS)
            self.restart_at = now + backoff
        else:
            self.finished = True
        return True

    async def stop(self, grace: float) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        self.restart_at = None
        if self.child is not None:
            child, self.child = self.child, None
            await asyncio.to_thread(child.stop, grace)

    def view(self) -> ContainerView:
        base = ContainerView(
            self.name,
            self.image,
            self.image_id,
            State.WAITING,
            restart_count=self.restart_count,
            last=self.last,
        )
        if self.child is not None and self.child.alive():
            return replace(
                base,
                state=State.RUNNING,
                ready=self.readiness.ready,
                started_at=self.started_at,
                process_id=self.child.pid,
            )
        if self.error:
            return replace(base, reason=CREATE_CONTAINER_ERROR, message=self.error)
        if self.finished:
            return replace(base, state=State.TERMINATED)
        return replace(base, reason=CRASH_LOOP_BACK_OFF if self.restart_at is not None else "")

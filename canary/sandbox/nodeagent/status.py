"""A Pod's status as a kubelet would write it, built from what the node agent knows about its
containers. Pure: no clock (times come in as arguments), no I/O."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from canary.kube.resources import JsonObj


class State(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    TERMINATED = "terminated"


class PodPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


# Waiting reasons the agent reports.
ERR_IMAGE_PULL = "ErrImagePull"
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
CONTAINER_CREATING = "ContainerCreating"
CREATE_CONTAINER_ERROR = "CreateContainerError"


def rfc3339(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Termination:
    """How a container's run ended."""

    exit_code: int
    started_at: str
    finished_at: str

    @property
    def reason(self) -> str:
        return "Completed" if self.exit_code == 0 else "Error"

    def as_state(self) -> JsonObj:
        return {
            "terminated": {
                "exitCode": self.exit_code,
                "reason": self.reason,
                "startedAt": self.started_at,
                "finishedAt": self.finished_at,
            }
        }


@dataclass(frozen=True)
class ContainerView:
    """One container as the agent sees it now."""

    name: str
    image: str
    image_id: str
    state: State
    ready: bool = False
    restart_count: int = 0
    started_at: str = ""  # of the current run, when running
    reason: str = ""  # why it waits
    message: str = ""
    process_id: int | None = None
    last: Termination | None = None  # the previous run (or, when terminated, this one)

    def status(self) -> JsonObj:
        state: JsonObj
        if self.state is State.RUNNING:
            state = {"running": {"startedAt": self.started_at}}
        elif self.state is State.TERMINATED and self.last is not None:
            state = self.last.as_state()
        else:
            waiting: JsonObj = {"reason": self.reason or CONTAINER_CREATING}
            if self.message:
                waiting["message"] = self.message
            state = {"waiting": waiting}
        previous = self.last if self.state is not State.TERMINATED else None
        status: JsonObj = {
            "name": self.name,
            "image": self.image,
            "imageID": self.image_id if self.reason != ERR_IMAGE_PULL else "",
            "ready": self.ready and self.state is State.RUNNING,
            "restartCount": self.restart_count,
            "started": self.state is State.RUNNING,
            "state": state,
            "lastState": previous.as_state() if previous else {},
        }
        if self.process_id is not None:
            status["containerID"] = f"sandbox://{self.process_id}"
        return status


def pod_phase(containers: Sequence[ContainerView]) -> PodPhase:
    """Running while a container runs or waits to restart; Succeeded/Failed once all have
    ended for good; Pending before that (still starting, or an image it cannot run)."""
    if containers and all(c.state is State.TERMINATED for c in containers):
        ok = all(c.last is not None and c.last.exit_code == 0 for c in containers)
        return PodPhase.SUCCEEDED if ok else PodPhase.FAILED
    if any(c.state is State.RUNNING or c.reason == CRASH_LOOP_BACK_OFF for c in containers):
        return PodPhase.RUNNING
    return PodPhase.PENDING


@dataclass(frozen=True)
class PodView:
    """Everything the status of one Pod is built from."""

    containers: Sequence[ContainerView]
    host_ip: str
    start_time: str
    ready_since: str  # when Ready last changed
    pod_ip: str | None = None


def _condition(kind: str, ok: bool, since: str, unready: list[str]) -> JsonObj:
    condition: JsonObj = {"type": kind, "status": "True" if ok else "False"}
    condition["lastTransitionTime"] = since
    condition["lastProbeTime"] = None
    if not ok and unready:
        condition["reason"] = "ContainersNotReady"
        condition["message"] = f"containers with unready status: [{' '.join(unready)}]"
    return condition


def pod_status(view: PodView) -> JsonObj:
    """The whole `status` of the Pod (the agent owns it: written with a merge patch)."""
    statuses = [c.status() for c in view.containers]
    unready = [s["name"] for s in statuses if not s["ready"]]
    ready = not unready
    phase = pod_phase(view.containers)
    status: JsonObj = {
        "phase": str(phase),
        "hostIP": view.host_ip,
        "hostIPs": [{"ip": view.host_ip}],
        "startTime": view.start_time,
        "conditions": [
            _condition("PodScheduled", True, view.start_time, []),
            _condition("Initialized", True, view.start_time, []),
            _condition("ContainersReady", ready, view.ready_since, unready),
            _condition("Ready", ready, view.ready_since, unready),
        ],
        "containerStatuses": statuses,
        "podIP": view.pod_ip,
        "podIPs": [{"ip": view.pod_ip}] if view.pod_ip else None,
    }
    if phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        status["conditions"][2:] = [
            _condition("ContainersReady", False, view.ready_since, []),
            _condition("Ready", False, view.ready_since, []),
        ]
        status["conditions"][2]["reason"] = status["conditions"][3]["reason"] = "PodCompleted"
    return status

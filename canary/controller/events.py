"""Kubernetes Events about Canaries (events.k8s.io/v1), so `kubectl describe` tells the story.

Repeats of the same reason and message for the same object within a window are dropped, so a
held rollout does not flood the namespace. Event failures are logged, never fatal.
"""

from __future__ import annotations

import datetime as dt
import socket
from typing import Literal, Protocol

import structlog

from canary.controller.clock import Clock
from canary.kube.client import Kube
from canary.kube.errors import KubeError
from canary.kube.resources import EVENT, JsonObj

EventType = Literal["Normal", "Warning"]
COMPONENT = "canary-operator"

log = structlog.get_logger("canary.events")


class EventSink(Protocol):
    async def emit(self, obj: JsonObj, *, type: EventType, reason: str, message: str) -> None: ...


class EventRecorder:
    """Creates Events through the API, de-duplicating repeats within `repeat_window`."""

    def __init__(
        self,
        kube: Kube,
        *,
        clock: Clock,
        instance: str | None = None,
        repeat_window: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        self._kube = kube
        self._clock = clock
        self._instance = instance or socket.gethostname()
        self._window = repeat_window
        self._recent: dict[tuple[str, str, str], dt.datetime] = {}

    async def emit(self, obj: JsonObj, *, type: EventType, reason: str, message: str) -> None:
        meta = obj.get("metadata", {})
        now = self._clock.now()
        dedup = (str(meta.get("uid", "")), reason, message)
        last = self._recent.get(dedup)
        if last is not None and now - last < self._window:
            return
        self._recent[dedup] = now
        if len(self._recent) > 10_000:
            cutoff = now - self._window
            self._recent = {k: t for k, t in self._recent.items() if t >= cutoff}
        namespace = str(meta.get("namespace", "default"))
        body = {
            "apiVersion": EVENT.api_version,
            "kind": "Event",
            "metadata": {"generateName": f"{meta.get('name', 'canary')}-", "namespace": namespace},
            "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "reportingController": COMPONENT,
            "reportingInstance": self._instance,
            "action": reason,
            "reason": reason,
            "note": message[:1024],
            "type": type,
            "regarding": {
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "name": meta.get("name"),
                "namespace": namespace,
                "uid": meta.get("uid"),
                "resourceVersion": meta.get("resourceVersion"),
            },
        }
        try:
            await self._kube.create(EVENT, body, namespace)
        except KubeError as exc:
            log.warning("event not recorded", reason=reason, error=str(exc))

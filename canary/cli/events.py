"""The recent Kubernetes Events about one Canary, as `watch` shows them.

Pure: event objects in, the latest lines about this Canary (this incarnation of it) out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from canary.cli.snapshot import Snapshot
from canary.kube.resources import JsonObj

EVENT_LIMIT = 6


@dataclass(frozen=True)
class EventLine:
    time: datetime | None
    type: str
    reason: str
    note: str


def _event_time(event: JsonObj) -> datetime | None:
    series = event.get("series") or {}
    for text in (
        series.get("lastObservedTime"),
        event.get("eventTime"),
        event.get("deprecatedLastTimestamp"),
        (event.get("metadata") or {}).get("creationTimestamp"),
    ):
        if text:
            return datetime.fromisoformat(str(text))
    return None


def recent_events(
    items: Iterable[JsonObj], snap: Snapshot, limit: int = EVENT_LIMIT
) -> list[EventLine]:
    """The latest events about this Canary (this incarnation of it, when the uid is known)."""
    lines = []
    for event in items:
        about = event.get("regarding") or {}
        if about.get("kind") != "Canary" or about.get("name") != snap.name:
            continue
        if snap.uid and about.get("uid") and about["uid"] != snap.uid:
            continue
        lines.append(
            EventLine(
                _event_time(event),
                str(event.get("type", "")),
                str(event.get("reason", "")),
                str(event.get("note", "")),
            )
        )
    lines.sort(key=lambda e: (e.time is not None, e.time or datetime.min))
    return lines[-limit:]

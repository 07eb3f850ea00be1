"""Canary objects as the API server returns them, for the CLI's pure functions."""

from __future__ import annotations

from typing import Any

from canary.cli.snapshot import Snapshot, snapshot

NOW = "2025-03-01T12:00:00Z"


def canary_obj(
    *,
    generation: int = 1,
    revision: str | None = "v2",
    paused: bool = False,
    status: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routeRef": {"name": "api-route"},
        "stable": {"name": "api-v1", "port": 8080},
        "canary": {"name": "api-v2", "port": 8080},
        "steps": {"weights": [5, 25, 50], "interval": "1m"},
        "paused": paused,
        **spec,
    }
    if revision is not None:
        body["revision"] = revision
    return {
        "apiVersion": "rollouts.canary-operator.io/v1alpha1",
        "kind": "Canary",
        "metadata": {
            "name": "api",
            "namespace": "shop",
            "uid": "uid-1",
            "generation": generation,
            "creationTimestamp": NOW,
        },
        "spec": body,
        "status": status or {},
    }


def condition(type_: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": NOW,
    }


def snap(**kwargs: Any) -> Snapshot:
    return snapshot(canary_obj(**kwargs))


def status(
    phase: str, *, revision: str = "v2", generation: int = 1, **extra: Any
) -> dict[str, Any]:
    return {"phase": phase, "revision": revision, "observedGeneration": generation, **extra}

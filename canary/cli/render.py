"""Plain-text and machine-readable output shared by the read commands: kubectl-style ages and
aligned columns, and `-o json|yaml` dumps.

Pure formatting: values and the time come in, strings go out; nothing here prints or reads.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
import yaml

from canary.kube.resources import JsonObj


class OutputFormat(StrEnum):
    JSON = "json"
    YAML = "yaml"


OutputOpt = Annotated[
    OutputFormat | None,
    typer.Option("--output", "-o", help="Print json or yaml instead of text.", show_default=False),
]


def age(since: datetime | None, now: datetime) -> str:
    """How long ago, as kubectl prints it (`45s`, `3m20s`, `5h`, `2d3h`); `-` when unknown."""
    if since is None:
        return "-"
    seconds = int((now - since).total_seconds())
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def columns(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns three spaces apart, headers in capitals, like `kubectl get`."""
    table = [[h.upper() for h in headers], *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    lines = [
        "   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in table
    ]
    return "\n".join(lines)


def clean(obj: JsonObj) -> JsonObj:
    """The object as a user wants to read it: without `metadata.managedFields`."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": meta}


def as_list(items: Sequence[JsonObj]) -> JsonObj:
    """Several objects as kubectl prints them: a `v1/List`."""
    return {"apiVersion": "v1", "kind": "List", "items": list(items), "metadata": {}}


def dump(data: Any, fmt: OutputFormat) -> str:
    if fmt is OutputFormat.JSON:
        return json.dumps(data, indent=2, sort_keys=False, default=str)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n")

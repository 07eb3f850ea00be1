"""Print the fault suite's figures as a table: `python tests/faults/report.py [RESULTS_DIR]`.

Each scenario writes one JSON file (see `faultkit.record_result`); this reads them all. The
columns are the ones every scenario records; anything else a scenario measured is shown
as `key=value` in the last column.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

COLUMNS = (
    ("scenario", "scenario"),
    ("injected", "fault injected"),
    ("injections", "count"),
    ("rollouts", "rollouts"),
    ("succeeded", "ok"),
    ("rolled_back", "rb"),
    ("route_writes", "route w"),
    ("status_writes", "status w"),
    ("violations", "violations"),
)
SKIP = {name for name, _ in COLUMNS} | {"recorded_at", "violation_samples"}


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        return str(len(value)) if value and not isinstance(value[0], int | float) else str(value)
    return "" if value is None else str(value)


def table(rows: Sequence[dict[str, Any]]) -> str:
    header = [title for _, title in COLUMNS] + ["figures"]
    body = []
    for row in rows:
        extra = ", ".join(f"{k}={_cell(v)}" for k, v in row.items() if k not in SKIP)
        body.append([_cell(row.get(name)) for name, _ in COLUMNS] + [extra])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(COLUMNS))]
    lines = []
    for line in [header, *body]:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        lines.append(" | ".join([*cells, line[-1]]))
    lines.insert(1, "-+-".join("-" * w for w in widths) + "-+-" + "-" * 7)
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    here = Path(__file__).resolve().parent
    default = os.environ.get("CANARY_FAULT_RESULTS") or here / ".results"
    directory = Path(argv[0]) if argv else Path(default)
    rows = [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]
    if not rows:
        print(f"no results in {directory}", file=sys.stderr)
        return 1
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

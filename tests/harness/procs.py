"""Whether processes are still there, read from /proc (zombies count as gone)."""

from __future__ import annotations

import time
from pathlib import Path


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_dead(pids: list[int], timeout: float = 30, every: float = 0.1) -> list[int]:
    """Wait up to `timeout` seconds for all `pids` to be gone; returns those still alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [pid for pid in pids if alive(pid)]:
            return []
        time.sleep(every)
    return [pid for pid in pids if alive(pid)]

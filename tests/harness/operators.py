"""`canary operator` as real child processes, the one way every suite launches it, and what the
tests read back from their logs (JSON lines, one `reconciled` line per reconcile)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from canary.kube.resources import JsonObj
from canary.sandbox.processes import Child
from harness.waiting import eventually


def json_lines(path: Path) -> list[JsonObj]:
    """The JSON lines of a log file; the last line of a killed process may be cut short."""
    found = []
    with contextlib.suppress(OSError):
        for raw in path.read_text(errors="replace").splitlines():
            if raw.startswith("{"):
                with contextlib.suppress(ValueError):
                    found.append(json.loads(raw))
    return found


@dataclass
class Operators:
    """`canary operator` processes (real children) that a test starts, kills and restarts, each
    logging JSON to a file of its own under `log_dir`.

    By default scoped to `namespaces`, with `kubeconfig` and `prometheus_url`; `command` replaces
    those arguments (e.g. a chart's Deployment arguments, with the kubeconfig in `env`)."""

    kubeconfig: Path
    namespaces: list[str]
    prometheus_url: str
    log_dir: Path
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None
    started: list[Child] = field(default_factory=list)
    kills: int = 0

    def argv(self, *args: str, resync: float = 30) -> list[str]:
        base = self.command
        if base is None:
            base = [
                "operator",
                f"--kubeconfig={self.kubeconfig}",
                *(f"--namespace={ns}" for ns in self.namespaces),
                f"--prometheus={self.prometheus_url}",
                "--log-format=json",
                f"--resync={resync}",
            ]
        return [sys.executable, "-m", "canary", *base, *self.extra_args, *args]

    def start(
        self, *args: str, env: dict[str, str] | None = None, resync: float = 30
    ) -> Child:
        index = len(self.started)
        child = Child(
            f"operator-{index}",
            self.argv(*args, resync=resync),
            log_path=self.log_dir / f"operator-{index}.log",
            env={**self.env, **(env or {})},
        )
        self.started.append(child)
        return child

    @property
    def current(self) -> Child:
        return self.started[-1]

    def kill(self, child: Child | None = None) -> float:
        """SIGKILL (a node failure: no cleanup at all); returns time.time() of the kill."""
        target = child or self.current
        if target.alive():
            os.kill(target.pid, signal.SIGKILL)
            target.process.wait()
            self.kills += 1
        return time.time()

    def stop(self) -> None:
        for child in self.started:
            child.stop()

    @staticmethod
    def lines(child: Child) -> list[JsonObj]:
        return json_lines(child.log_path)

    def all_lines(self) -> list[JsonObj]:
        return [line for child in self.started for line in self.lines(child)]

    def reconciled(self, canary: str | None = None) -> list[JsonObj]:
        """The canonical `reconciled` lines (of `canary`, "namespace/name", when given)."""
        return [
            line
            for line in self.all_lines()
            if line.get("event") == "reconciled" and canary in (None, line.get("canary"))
        ]

    async def reconciles(self, canary: str, count: int, *, within: float = 60) -> list[JsonObj]:
        """Wait until the operator has reconciled `canary` ("namespace/name") `count` more times
        than it had when called; returns those new lines. The bounded way to let "nothing
        happens" happen: each pass was a chance to act, and none may have."""
        before = len(self.reconciled(canary))

        async def more() -> list[JsonObj] | None:
            lines = self.reconciled(canary)
            return lines[before:] if len(lines) >= before + count else None

        return await eventually(
            more, within=within, what=f"{count} more reconciles of {canary}", detail=self.tail
        )

    def tail(self) -> str:
        return "\n".join(f"{c.name} log:\n{c.log_tail()}" for c in self.started)

    def problems(self) -> list[str]:
        """Exceptions and tracebacks in any operator's log (JSON or raw stderr)."""
        found = []
        for child in self.started:
            with contextlib.suppress(OSError):
                text = child.log_path.read_text(errors="replace")
                for raw in text.splitlines():
                    line: JsonObj = {}
                    if raw.startswith("{"):
                        with contextlib.suppress(ValueError):
                            line = json.loads(raw)
                    if line.get("exception") or line.get("level") in ("error", "critical"):
                        found.append(f"{child.name}: {raw[:2000]}")
                    elif not line and "Traceback" in raw:
                        found.append(f"{child.name}: {raw}\n{child.log_tail(30)}")
        return found

    async def wait_ready(self, child: Child, within: float = 60) -> float:
        """Until the process logs that its caches are synced; returns time.time() then."""

        async def synced() -> bool:
            if not child.alive():
                raise AssertionError(f"{child.name} exited:\n{child.log_tail()}")
            return any(
                line.get("event") == "caches synced, starting workers" for line in self.lines(child)
            )

        await eventually(synced, within=within, what=f"{child.name} to sync its caches")
        return time.time()

    async def wait_exit(self, child: Child, within: float = 60) -> int:
        async def exited() -> bool:
            return not child.alive()

        await eventually(exited, within=within, what=f"{child.name} to exit")
        return int(child.process.returncode)

"""Run the installed `canary` console script as a subprocess against the test control plane,
plainly or inside a pseudo-terminal, without blocking the event loop (other servers of the
test may run on it meanwhile).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import struct
import sys
import termios
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CANARY = Path(sys.executable).parent / "canary"
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\r")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass(frozen=True)
class Cli:
    """`canary ...` with `--kubeconfig` and `-n` of the test's namespace."""

    kubeconfig: Path
    namespace: str

    def argv(self, *args: str, namespaced: bool = True) -> list[str]:
        scope = ["-n", self.namespace] if namespaced else []
        return [str(CANARY), *args, f"--kubeconfig={self.kubeconfig}", *scope]

    async def run(self, *args: str, within: float = 120, namespaced: bool = True) -> Result:
        process = await asyncio.create_subprocess_exec(
            *self.argv(*args, namespaced=namespaced),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout=within)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())

    async def ok(self, *args: str, within: float = 120, namespaced: bool = True) -> Result:
        """`run`, which must exit 0 (else the assertion shows its output)."""
        result = await self.run(*args, within=within, namespaced=namespaced)
        assert result.code == 0, result.text
        return result

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        """Start a command and leave it running (e.g. a `wait` raced against a change)."""
        return await asyncio.create_subprocess_exec(
            *self.argv(*args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )

    async def run_in_terminal(
        self,
        *args: str,
        within: float = 180,
        columns: int = 160,
        rows: int = 60,
        drawn: asyncio.Event | None = None,
    ) -> Result:
        """Run in a pseudo-terminal of the given size; `out` is everything written to it, ANSI
        control sequences removed. `drawn` is set once the first output arrives."""
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
        for key in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
            env.pop(key, None)
        process = await asyncio.create_subprocess_exec(
            *self.argv(*args), stdin=slave, stdout=slave, stderr=slave, env=env
        )
        os.close(slave)
        chunks: list[bytes] = []
        done = asyncio.get_running_loop().create_future()

        def readable() -> None:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer to the terminal is gone
                data = b""
            if data:
                chunks.append(data)
                if drawn is not None:
                    drawn.set()
            elif not done.done():
                done.set_result(None)

        loop = asyncio.get_running_loop()
        loop.add_reader(master, readable)
        try:
            await asyncio.wait_for(asyncio.gather(done, process.wait()), timeout=within)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        finally:
            loop.remove_reader(master)
            os.close(master)
        screen = ANSI.sub("", b"".join(chunks).decode(errors="replace"))
        assert process.returncode is not None
        return Result(process.returncode, screen, "")

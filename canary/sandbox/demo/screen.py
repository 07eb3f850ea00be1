"""Keep the demo's screen up to date while the stories run: a rich live view on a terminal, plain
progress lines anywhere else (CI, a pipe).

Runs as a background task next to the stories; it reads the world and never changes it.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

import structlog
from rich.console import Console
from rich.live import Live

from canary.sandbox.demo import plain, view
from canary.sandbox.demo.frames import Frame, Tracker
from canary.sandbox.demo.stories import Story, StoryResult
from canary.sandbox.service import cancel_and_wait

log = structlog.get_logger(__name__)


class DemoScreen:
    """`async with DemoScreen(console, tracker) as screen:`, then set `screen.story` as the
    stories go."""

    def __init__(self, console: Console, tracker: Tracker, *, every: float = 0.5) -> None:
        self.console, self.tracker, self.every = console, tracker, every
        self.story: Story | None = None
        self.done: list[StoryResult] = []
        self._live: Live | None = None
        self._last: Frame | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def draw(self) -> None:
        """Read one frame and show it; the stories call it too, at the end of each story."""
        async with self._lock:  # one frame at a time: plain lines compare with the last one
            await self._draw()

    async def _draw(self) -> None:
        try:
            frame = await self.tracker.frame(self.story)
        except Exception as exc:  # a missed frame must not end the demo; the next one may work
            log.warning("could not read the demo world", error=repr(exc))
            return
        if self._live is not None:
            self._live.update(view.render(frame, done=self.done), refresh=True)
        else:
            for line in plain.lines(self._last, frame):
                self.console.print(line, soft_wrap=True, highlight=False, markup=False)
        self._last = frame

    async def _loop(self) -> None:
        while True:
            await self.draw()
            await asyncio.sleep(self.every)

    async def __aenter__(self) -> DemoScreen:
        if self.console.is_terminal:
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.start()
        self._task = asyncio.create_task(self._loop(), name="demo-screen")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await cancel_and_wait(self._task)
        if exc_type is None:
            await self.draw()  # the last frame shows how the stories ended
        if self._live is not None:
            self._live.stop()

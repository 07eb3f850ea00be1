"""The live loop behind `canary watch`: follow the Canary, redraw on every change, refresh
events and the observed split on a timer, and stop on a final conclusion (or the timeout).

Drawing is the pure `view.view`; when it is over is the pure `outcome.judge`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.console import Console
from rich.live import Live

from canary.cli.conclusion import Conclusion, Target, WaitFor, judge, lock
from canary.cli.events import EventLine, recent_events
from canary.cli.exitcodes import ExitCode
from canary.cli.follow import follow
from canary.cli.snapshot import Snapshot, snapshot
from canary.cli.split import Split, SplitSource
from canary.cli.view import view
from canary.cli.wait import timeout_of
from canary.kube.client import Kube
from canary.kube.errors import KubeError
from canary.kube.resources import EVENT


@dataclass
class Screen:
    """What is on screen; the watch loop and the refresher both update it."""

    snap: Snapshot | None
    split: Split
    conclusion: Conclusion
    events: list[EventLine] = field(default_factory=list)

    def draw(self, live: Live) -> None:
        frame = view(
            self.snap,
            events=self.events,
            split=self.split,
            now=datetime.now(UTC),
            conclusion=self.conclusion,
        )
        live.update(frame, refresh=True)

    async def refresh(self, kube: Kube, source: SplitSource | None) -> None:
        if self.snap is None:
            return
        try:
            items, _ = await kube.list(EVENT, self.snap.namespace)
            self.events = recent_events(items, self.snap)
        except KubeError as exc:
            self.events = [EventLine(None, "Warning", "CannotListEvents", str(exc))]
        if source is not None and self.snap.spec is not None:
            self.split = await source.observe(self.snap.namespace, self.snap.spec)


async def live_view(
    kube: Kube,
    ns: str,
    name: str,
    *,
    revision: str | None,
    limit: str | None,
    source: SplitSource | None,
    every: float,
) -> Conclusion:
    seconds = timeout_of(limit).total_seconds() if limit else None
    stream = follow(kube, ns, name)
    console = Console()
    try:
        first = await anext(stream)
        snap = snapshot(first) if first is not None else None
        target = lock(snap, Target(WaitFor.PROMOTED, revision, snap.generation if snap else 0))
        screen = Screen(snap, Split(source is not None), judge(snap, target))
        await screen.refresh(kube, source)
        with Live(console=console, auto_refresh=False) as live:
            screen.draw(live)

            async def refresher() -> None:
                while True:
                    await asyncio.sleep(every)
                    await screen.refresh(kube, source)
                    screen.draw(live)

            side = asyncio.create_task(refresher())
            try:
                async with asyncio.timeout(seconds):
                    while not screen.conclusion.done:
                        obj = await anext(stream)
                        screen.snap = snapshot(obj) if obj is not None else None
                        target = lock(screen.snap, target)
                        screen.conclusion = judge(screen.snap, target)
                        screen.draw(live)
            except TimeoutError:
                last = screen.conclusion.message
                screen.conclusion = Conclusion(ExitCode.TIMEOUT, f"timed out after {limit}: {last}")
            finally:
                side.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await side
            await screen.refresh(kube, source)  # the last events tell how it ended
            screen.draw(live)
        if not console.is_terminal:
            console.line()  # off a terminal, Live leaves its last frame without a newline
        return screen.conclusion
    finally:
        await stream.aclose()

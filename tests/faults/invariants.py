"""The rollout invariants every fault scenario asserts, judged on a history recorded outside the
operator (the test's own watches on the route and the Canary), never on what the operator says.

A `History` is the sequence of route samples (managed weights, generation) and Canary status
samples (phase, step, weights, failed checks), each with the object's `resourceVersion`. One
etcd backs both kinds, so resourceVersions order the two streams into one timeline.

`check(history, expected)` returns the violations (sentences; empty when the rollout was
correct). Rules, for one rollout:

1. every route sample gives the two managed backends 100 % between them;
2. the canary weight only goes up, except a single move to 0 (the rollback), after which it
   stays 0: no traffic goes back towards a rolled-back canary;
3. the weights it goes up through are exactly the declared steps, in order, each once (then
   100 when promoted): no step skipped, none repeated;
4. every route write (a new generation) changes the managed weights: no idle or repeated write;
5. `RolledBack` is never visible while the route still sends traffic to the canary, and
   `Succeeded` never before the route carries 100 %;
6. a finished phase (`Succeeded`, `RolledBack`) never changes afterwards, and the status'
   step never goes back during the rollout;
7. the rollout ends as declared: `Succeeded` at 100 % for a healthy canary, `RolledBack` at 0 %
   (with exactly `failureThreshold` failed checks when given) for a failing one;
8. optionally, for a canary whose gate fails for good: once a failed check is recorded, the
   canary weight never rises again; and for declared windows (e.g. Prometheus down): the
   weight does not rise within them.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

FINISHED = ("Succeeded", "RolledBack")
ACTIVE = ("Pending", "Progressing", "Paused", "Promoting", "RollingBack")


@dataclass(frozen=True)
class RouteSample:
    """The route as one watch event showed it."""

    rv: int
    at: float  # time.time() when the test received it
    generation: int
    canary: int
    stable: int


@dataclass(frozen=True)
class StatusSample:
    """The Canary's status as one watch event showed it."""

    rv: int
    at: float
    phase: str
    step: int
    canary: int
    failed_checks: int
    generation: int = 0
    outcomes: tuple[str, ...] = ()  # status.metrics[].outcome: Value, NoData or Error


@dataclass
class History:
    """Everything recorded for one rollout (one Canary on one route)."""

    name: str
    routes: list[RouteSample] = field(default_factory=list)
    statuses: list[StatusSample] = field(default_factory=list)

    def samples(self) -> list[RouteSample | StatusSample]:
        """Every route and status change seen, routes first."""
        return [*self.routes, *self.statuses]

    def weights(self) -> list[int]:
        """The canary weight sequence, consecutive repeats collapsed."""
        out: list[int] = []
        for sample in sorted(self.routes, key=lambda s: s.rv):
            if not out or out[-1] != sample.canary:
                out.append(sample.canary)
        return out

    def route_writes(self) -> int:
        """Spec writes to the route seen (generation bumps after the first sample)."""
        generations = sorted({s.generation for s in self.routes})
        return max(0, len(generations) - 1)

    def status_writes(self) -> int:
        """Status writes seen (each sample is one change of the status)."""
        return len(self.statuses)

    def timeline(self) -> list[str]:
        """Both streams in resourceVersion order, one short line each (for failure reports)."""
        rows = [(s.rv, f"rv {s.rv} route gen {s.generation}: {s.canary} %") for s in self.routes]
        rows += [
            (
                s.rv,
                f"rv {s.rv} status: {s.phase} step {s.step} at {s.canary} %, "
                f"{s.failed_checks} failed{' ' + '/'.join(s.outcomes) if s.outcomes else ''}",
            )
            for s in self.statuses
        ]
        return [text for _, text in sorted(rows)]

    def final_phase(self) -> str:
        return self.statuses[-1].phase if self.statuses else ""


@dataclass(frozen=True)
class Expected:
    """How the rollout must end, and the optional stricter rules."""

    steps: tuple[int, ...]
    outcome: str  # "Succeeded" or "RolledBack"
    failure_threshold: int | None = None
    fails_for_good: bool = False  # rule 8: no rise once a failed check is recorded
    no_rise_windows: tuple[tuple[float, float], ...] = ()  # rule 8: (from, to), time.time()
    initial: int = 0

    def schedule(self) -> tuple[int, ...]:
        return self.steps if self.steps and self.steps[-1] == 100 else (*self.steps, 100)


def check(history: History, expected: Expected) -> list[str]:
    """The violations of the rules above; empty when the rollout was correct."""
    routes = sorted(history.routes, key=lambda s: s.rv)
    statuses = sorted(history.statuses, key=lambda s: s.rv)
    found: list[str] = []
    if not routes:
        return [f"{history.name}: no route sample recorded"]
    found += _sums(routes)
    found += _weight_path(history.weights(), expected)
    found += _idle_writes(routes)
    found += _phase_vs_route(routes, statuses)
    found += _status_order(statuses)
    found += _ending(routes, statuses, expected)
    if expected.fails_for_good:
        found += _no_rise_after_failed_check(routes, statuses)
    for start, end in expected.no_rise_windows:
        found += _no_rise_within(routes, start, end)
    return [f"{history.name}: {text}" for text in found]


def _sums(routes: Sequence[RouteSample]) -> list[str]:
    return [
        f"weights {s.stable}/{s.canary} do not add up to 100 (generation {s.generation})"
        for s in routes
        if s.stable + s.canary != 100
    ]


def show(weights: Sequence[int], limit: int = 24) -> str:
    """A weight sequence for a message; a long one keeps its start and end."""
    if len(weights) <= limit:
        return " → ".join(map(str, weights))
    head, tail = weights[: limit - 8], weights[-6:]
    hidden = len(weights) - len(head) - len(tail)
    return f"{' → '.join(map(str, head))} → … {hidden} more … → {' → '.join(map(str, tail))}"


def _weight_path(weights: list[int], expected: Expected) -> list[str]:
    path = show(weights)
    found: list[str] = []
    if weights[0] != expected.initial:
        found.append(f"the route started at {weights[0]} %, not {expected.initial} % ({path})")
    drop = next((i for i in range(1, len(weights)) if weights[i] < weights[i - 1]), None)
    rising = weights[1:drop] if drop is not None else weights[1:]
    if drop is not None:
        if weights[drop] != 0:
            found.append(
                f"the canary weight went down from {weights[drop - 1]} to {weights[drop]} "
                f"without a rollback ({path})"
            )
        after = weights[drop + 1 :]
        if after:
            found.append(
                f"traffic went back towards the canary after the move to {weights[drop]} %: "
                f"then {show(after)} ({path})"
            )
    schedule = expected.schedule()
    if tuple(rising) != schedule[: len(rising)]:
        missing = [w for w in schedule if w <= max(rising, default=0) and w not in rising]
        repeated = sorted({w for w in rising if rising.count(w) > 1})
        extra = [w for w in rising if w not in schedule]
        what = []
        if missing:
            what.append(f"skipped {missing}")
        if repeated:
            what.append(f"repeated {repeated}")
        if extra:
            what.append(f"undeclared {extra}")
        found.append(
            f"the weights did not follow the declared steps {list(schedule)}: "
            f"{', '.join(what) or 'out of order'} ({path})"
        )
    return found


def _idle_writes(routes: Sequence[RouteSample]) -> list[str]:
    found: list[str] = []
    for before, after in itertools.pairwise(routes):
        if after.generation != before.generation and after.canary == before.canary:
            found.append(
                f"route generation {after.generation} was written without changing the weights "
                f"(still {after.canary} %)"
            )
    return found


def _route_at(routes: Sequence[RouteSample], rv: int) -> RouteSample | None:
    """The route as it stood at resourceVersion `rv`."""
    before = [s for s in routes if s.rv <= rv]
    return before[-1] if before else None


def _phase_vs_route(routes: Sequence[RouteSample], statuses: Sequence[StatusSample]) -> list[str]:
    found: list[str] = []
    for status in statuses:
        route = _route_at(routes, status.rv)
        if route is None:
            continue
        if status.phase == "RolledBack" and route.canary != 0:
            found.append(
                f"RolledBack was visible (rv {status.rv}) while the route sent {route.canary} % "
                f"to the canary"
            )
            break
    for status in statuses:
        route = _route_at(routes, status.rv)
        if status.phase == "Succeeded" and route is not None and route.canary != 100:
            found.append(
                f"Succeeded was visible (rv {status.rv}) while the route sent {route.canary} % "
                f"to the canary"
            )
            break
    return found


def _status_order(statuses: Sequence[StatusSample]) -> list[str]:
    found: list[str] = []
    finished: StatusSample | None = None
    step = 0
    for status in statuses:
        if finished is not None and status.phase != finished.phase:
            found.append(f"the finished phase {finished.phase} became {status.phase}")
            break
        if status.phase in FINISHED:
            finished = status
        if status.phase in ACTIVE:
            if status.step < step:
                found.append(f"status.currentStep went back from {step} to {status.step}")
            step = max(step, status.step)
    return found


def _ending(
    routes: Sequence[RouteSample], statuses: Sequence[StatusSample], expected: Expected
) -> list[str]:
    if not statuses:
        return ["no status was ever written"]
    last, route = statuses[-1], routes[-1]
    found: list[str] = []
    if last.phase != expected.outcome:
        found.append(f"ended in {last.phase}, expected {expected.outcome}")
    want = 100 if expected.outcome == "Succeeded" else 0
    if route.canary != want:
        found.append(f"the route ended at {route.canary} % canary, expected {want} %")
    if (
        expected.outcome == "RolledBack"
        and expected.failure_threshold is not None
        and last.failed_checks != expected.failure_threshold
    ):
        found.append(
            f"rolled back with {last.failed_checks} failed checks, expected exactly "
            f"{expected.failure_threshold}"
        )
    return found


def _no_rise_after_failed_check(
    routes: Sequence[RouteSample], statuses: Sequence[StatusSample]
) -> list[str]:
    first = next((s for s in statuses if s.failed_checks > 0), None)
    if first is None:
        return []
    base = _route_at(routes, first.rv)
    level = base.canary if base is not None else 0
    for sample in routes:
        if sample.rv > first.rv and sample.canary > level:
            return [
                f"the canary weight rose from {level} to {sample.canary} % (rv {sample.rv}) after "
                f"a failed check was recorded (rv {first.rv})"
            ]
        if sample.rv > first.rv:
            level = min(level, sample.canary)
    return []


def _no_rise_within(routes: Sequence[RouteSample], start: float, end: float) -> list[str]:
    before = [s for s in routes if s.at <= start]
    level = before[-1].canary if before else 0
    for sample in routes:
        if not start < sample.at <= end:
            continue
        if sample.canary > level:
            return [
                f"the canary weight rose from {level} to {sample.canary} % during a window where "
                f"it must hold ({end - start:.1f}s long, {sample.at - start:.1f}s in)"
            ]
        level = sample.canary
    return []

"""Workload mode's release flow in `decide`: the first reconcile makes the running version the
primary with no traffic move; a new pod template is scaled up and waited for with no traffic;
promotion copies the template to the primary before 100 % goes back to it; rollbacks and
deadlines scale the canary to zero; a restart at any point resumes from the world as it is."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from core_world import MINUTE, T0, route_at

from canary.api import CanarySpec, CanaryStatus, Phase
from canary.api.conditions import ConditionReason
from canary.core.decide import decide
from canary.core.decision import (
    Decision,
    EnsureWorkload,
    EventReason,
    PromoteTemplate,
    ScaleWorkload,
    SetWeights,
)
from canary.core.observations import (
    DeploymentState,
    Observations,
    RouteObservation,
    WorkloadObservation,
)

pytestmark = pytest.mark.unit

SECOND = timedelta(seconds=1)


def workload_spec(**extra: Any) -> dict[str, Any]:
    return {
        "routeRef": {"name": "app-route"},
        "workload": {"name": "app", "port": 8080, "progressDeadline": "2m"},
        "steps": {"weights": [20, 50], "interval": "1m"},
        **extra,
    }


@dataclass
class Deployments:
    """The user's Deployment and the primary as the Deployment controller would run them:
    scaling and template changes take effect at `settle()`."""

    source: DeploymentState = field(default_factory=lambda: DeploymentState(
        exists=True, revision="v1", images=("demoapp:v1",), replicas=2, ready=2,
        rolled_out=True))
    primary: DeploymentState = field(default_factory=DeploymentState)
    services: bool = False
    autoscaler_in_line: bool = True

    def observation(self) -> WorkloadObservation:
        return WorkloadObservation(
            self.source, self.primary, self.services, self.autoscaler_in_line)

    def apply(self, action: object) -> None:
        if isinstance(action, EnsureWorkload):
            self.autoscaler_in_line = True
            if not self.primary.exists:
                self.primary = DeploymentState(exists=True, revision=self.source.revision,
                                               images=self.source.images,
                                               replicas=action.replicas)
            self.services = True
        elif isinstance(action, PromoteTemplate) and action.revision == self.source.revision:
            if self.primary.revision != action.revision:
                self.primary = replace(self.primary, revision=action.revision,
                                       images=self.source.images, ready=0, rolled_out=False)
        elif isinstance(action, ScaleWorkload):
            which = "primary" if action.primary else "source"
            state = getattr(self, which)
            if state.replicas != action.replicas:
                setattr(self, which, replace(state, replicas=action.replicas, ready=0,
                                             rolled_out=action.replicas == 0))

    def settle(self) -> None:
        for which in ("source", "primary"):
            state = getattr(self, which)
            if state.exists:
                setattr(self, which, replace(state, ready=state.replicas, rolled_out=True))

    def release(self, revision: str) -> None:
        """`kubectl set image`: a new template; the Deployment controller rolls it out (to
        whatever replicas the Deployment has) at `settle()`."""
        self.source = replace(self.source, revision=revision, images=(f"demoapp:{revision}",),
                              ready=0, rolled_out=self.source.replicas == 0)


@dataclass
class Cluster:
    """A Canary in workload mode, its route and Deployments, under `decide`."""

    spec: dict[str, Any] = field(default_factory=workload_spec)
    status: CanaryStatus = field(default_factory=CanaryStatus)
    deployments: Deployments = field(default_factory=Deployments)
    canary_weight: int = 0
    now: Any = T0
    generation: int = 1
    history: list[Decision] = field(default_factory=list)
    weights_written: list[tuple[int, bool]] = field(default_factory=list)

    def parsed(self) -> CanarySpec:
        revision = self.deployments.source.revision if self.deployments.source.exists else None
        return CanarySpec.model_validate({**self.spec, "revision": revision})

    def tick(self, *, lose_actions: bool = False) -> Decision:
        decision = decide(
            self.parsed(), self.status,
            observations=Observations(route=route_at(self.canary_weight),
                                      workload=self.deployments.observation()),
            now=self.now, generation=self.generation,
        )
        self.status = decision.status
        self.history.append(decision)
        if not lose_actions:
            for action in decision.actions:
                if isinstance(action, SetWeights):
                    ready = self.deployments.observation().canary_ready
                    self.weights_written.append((action.canary, ready))
                    self.canary_weight = action.canary
                else:
                    self.deployments.apply(action)
        return decision

    def run(self, seconds: int = 600, *, settle_every: int = 5) -> None:
        """Reconcile every second for `seconds`, the Deployments settling every few."""
        for second in range(seconds):
            self.now += SECOND
            if second % settle_every == settle_every - 1:
                self.deployments.settle()
            self.tick()

    def initialised(self) -> Cluster:
        self.tick()
        self.deployments.settle()
        self.tick()
        assert self.status.phase is Phase.SUCCEEDED, self.status.message
        return self


def actions(decision: Decision, kind: type) -> list[Any]:
    return [a for a in decision.actions if isinstance(a, kind)]


def test_the_first_reconcile_makes_the_running_version_the_primary_with_no_traffic_move() -> None:
    cluster = Cluster()
    first = cluster.tick()
    assert actions(first, EnsureWorkload) == [EnsureWorkload(2)]
    assert actions(first, SetWeights) == []
    assert first.status.workload is not None and first.status.workload.replicas == 2
    waiting = cluster.tick()
    assert "Waiting for app-primary" in waiting.status.message
    cluster.deployments.settle()
    done = cluster.tick()
    assert done.status.phase is Phase.SUCCEEDED
    assert done.status.revision == "v1"
    assert done.status.workload is not None and done.status.workload.primary_revision == "v1"
    assert actions(done, ScaleWorkload) == [ScaleWorkload(0)]  # the route sends to the Services
    assert actions(done, SetWeights) == []
    assert EventReason.WORKLOAD_INITIALIZED in [e.reason for e in done.events]
    assert cluster.weights_written == []


def test_a_new_template_is_scaled_up_and_waited_for_with_no_traffic_then_rolled_out() -> None:
    cluster = Cluster().initialised()
    cluster.deployments.settle()
    cluster.deployments.release("v2")
    pending = cluster.tick()
    assert pending.status.phase is Phase.PENDING
    assert actions(pending, ScaleWorkload) == [ScaleWorkload(2)]
    assert pending.status.workload is not None
    assert pending.status.workload.canary_revision == "v2"
    assert pending.status.workload.images == ("demoapp:v2",)
    assert cluster.tick().status.phase is Phase.PENDING  # not ready yet
    cluster.deployments.settle()
    started = cluster.tick()
    assert started.status.phase is Phase.PROGRESSING
    assert actions(started, SetWeights) == [SetWeights(20)]


def test_a_promotion_copies_the_template_then_moves_the_traffic_back_then_scales_down() -> None:
    cluster = Cluster().initialised()
    cluster.deployments.settle()
    cluster.deployments.release("v2")
    cluster.run(300)
    assert cluster.status.phase is Phase.SUCCEEDED, cluster.status.message
    assert cluster.status.revision == "v2"
    assert cluster.status.workload is not None
    assert cluster.status.workload.primary_revision == "v2"
    assert cluster.deployments.primary.revision == "v2"
    assert cluster.deployments.source.replicas == 0
    assert cluster.canary_weight == 0  # 100 % on the primary
    weights = [w for w, _ in cluster.weights_written]
    assert weights == [0, 20, 50, 0] or weights == [20, 50, 0]
    promoted = next(d for d in cluster.history
                    if d.status.phase is Phase.SUCCEEDED and d.status.revision == "v2")
    assert "app-primary runs it and serves 100%" in promoted.status.message


def test_traffic_never_goes_to_a_canary_that_is_not_ready() -> None:
    cluster = Cluster().initialised()
    cluster.deployments.settle()
    cluster.deployments.release("v2")
    cluster.run(60, settle_every=7)
    cluster.deployments.release("v3")  # mid-rollout: starts again from the first step
    cluster.run(400, settle_every=7)
    assert cluster.status.phase is Phase.SUCCEEDED and cluster.status.revision == "v3"
    assert all(ready for weight, ready in cluster.weights_written if weight > 0)


def test_a_new_template_mid_rollout_takes_the_traffic_back_and_restarts_at_the_first_step(
) -> None:
    cluster = Cluster().initialised()
    cluster.deployments.settle()
    cluster.deployments.release("v2")
    cluster.run(70)
    assert cluster.status.current_step == 2 and cluster.canary_weight == 50
    cluster.deployments.release("v3")
    cluster.now += SECOND
    restarted = cluster.tick()
    assert restarted.status.phase is Phase.PENDING
    assert actions(restarted, SetWeights) == [SetWeights(0)]
    cluster.run(10)
    assert cluster.status.phase is Phase.PROGRESSING and cluster.status.current_step == 1
    assert cluster.status.revision == "v3"


def test_a_canary_that_never_becomes_ready_is_rolled_back_at_its_deadline() -> None:
    cluster = Cluster().initialised()
    cluster.deployments.settle()
    cluster.deployments.release("v2")
    cluster.tick()
    for _ in range(119):
        cluster.now += SECOND
        assert cluster.tick().status.phase is Phase.PENDING
    cluster.now += SECOND
    ended = cluster.tick()
    assert ended.status.phase in (Phase.ROLLING_BACK, Phase.ROLLED_BACK)
    rolled = next(c for c in ended.status.conditions if c.type == "RolledBack")
    assert rolled.reason == ConditionReason.PROGRESS_DEADLINE_EXCEEDED
    assert "not ready within progressDeadline 2m" in ended.status.message
    cluster.run(5, settle_every=100)
    assert cluster.status.phase is Phase.ROLLED_BACK
    assert cluster.deployments.source.replicas == 0
    assert cluster.canary_weight == 0


def test_a_rollback_says_to_start_again_with_a_new_pod_template_not_a_spec_revision() -> None:
    """Found by the e2e test: the RolledBack message told a workload-mode user to set a new
    spec.revision, which workload mode derives from the Deployment's template."""
    cluster = Cluster().initialised()
    cluster.deployments.settle()
    cluster.deployments.release("v2")
    cluster.run(30)
    cluster.spec = {**cluster.spec, "requests": {"abort": "stop-1"}}
    cluster.generation += 1
    cluster.run(3, settle_every=100)
    assert cluster.status.phase is Phase.ROLLED_BACK
    assert "Start again with a new pod template of Deployment app" in cluster.status.message
    assert "spec.revision" not in cluster.status.message


def test_an_abort_puts_everything_on_the_primary_then_scales_the_canary_down() -> None:
    cluster = Cluster().initialised()
    cluster.deployments.settle()
    cluster.deployments.release("v2")
    cluster.run(30)
    assert cluster.canary_weight == 20
    cluster.spec = {**cluster.spec, "requests": {"abort": "stop-1"}}
    cluster.generation += 1
    cluster.now += SECOND
    aborted = cluster.tick()
    assert aborted.status.phase is Phase.ROLLING_BACK
    assert actions(aborted, SetWeights) == [SetWeights(0)]
    cluster.now += SECOND
    done = cluster.tick()
    assert done.status.phase is Phase.ROLLED_BACK
    assert actions(done, ScaleWorkload) == [ScaleWorkload(0)]
    assert cluster.deployments.primary.revision == "v1"


@pytest.mark.parametrize("lost_at", range(12))
def test_an_operator_that_loses_one_pass_of_a_promotion_resumes_from_the_world(
    lost_at: int,
) -> None:
    """The actions of one pass of the promotion are lost (the operator died after writing the
    status); the next passes read the Deployments and the route and carry on."""
    cluster = Cluster().initialised()
    cluster.deployments.settle()
    cluster.deployments.release("v2")
    while cluster.status.phase is not Phase.PROMOTING:
        cluster.now += SECOND
        cluster.deployments.settle()
        cluster.tick()
    for step in range(40):
        cluster.now += SECOND
        if step % 3 == 2:
            cluster.deployments.settle()
        cluster.tick(lose_actions=step == lost_at)
    final: CanaryStatus = cluster.status  # (mypy narrowed the phase in the loop above)
    assert final.phase is Phase.SUCCEEDED, final.message
    assert cluster.deployments.primary.revision == "v2"
    assert cluster.canary_weight == 0 and cluster.deployments.source.replicas == 0
    assert all(ready for weight, ready in cluster.weights_written if weight > 0)


def test_a_missing_deployment_holds_and_says_so_once() -> None:
    cluster = Cluster(deployments=Deployments(source=DeploymentState()))
    first = cluster.tick()
    assert "Deployment app does not exist" in first.status.message
    assert [e.reason for e in first.events] .count(EventReason.WORKLOAD_PROBLEM) == 1
    again = cluster.tick()
    assert EventReason.WORKLOAD_PROBLEM not in [e.reason for e in again.events]
    assert actions(again, EnsureWorkload) == []


def test_a_deployment_that_cannot_be_managed_holds_with_what_to_fix() -> None:
    problem = "the selector of Deployment app also selects the pods of Deployment other"
    cluster = Cluster(deployments=Deployments(source=DeploymentState(
        exists=True, revision="v1", replicas=1, problem=problem)))
    held = cluster.tick()
    assert held.status.message == problem
    ready = next(c for c in held.status.conditions if c.type == "Ready")
    assert ready.reason == ConditionReason.WORKLOAD_NOT_MANAGEABLE
    assert actions(held, EnsureWorkload) == []


def test_the_spec_derives_the_two_services_and_writes_them_nowhere() -> None:
    spec = CanarySpec.model_validate(workload_spec())
    assert (spec.stable.name, spec.canary.name) == ("app-primary", "app-canary")
    assert "stable" not in spec.to_api() and "canary" not in spec.to_api()
    with pytest.raises(ValueError, match=r"or spec\.workload instead"):
        CanarySpec.model_validate({**workload_spec(), "stable": {"name": "x", "port": 1}})
    assert timedelta(minutes=1) == MINUTE


def test_the_deployment_is_not_scaled_down_before_the_route_sends_to_the_operators_services(
) -> None:
    """Before the user migrates the route, the Deployment's pods serve through the user's own
    Service: scaling them to zero would be an outage."""
    cluster = Cluster()
    cluster.tick()
    cluster.deployments.settle()
    unmigrated = Observations(route=RouteObservation(exists=True),  # no managed rule yet
                              workload=cluster.deployments.observation())
    for _ in range(3):
        cluster.now += SECOND
        decision = decide(cluster.parsed(), cluster.status, observations=unmigrated,
                          now=cluster.now, generation=1)
        cluster.status = decision.status
        assert actions(decision, ScaleWorkload) == []
    assert cluster.status.phase is Phase.SUCCEEDED
    cluster.now += SECOND
    migrated = cluster.tick()
    assert actions(migrated, ScaleWorkload) == [ScaleWorkload(0)]



def test_scaling_the_deployment_between_releases_scales_the_primary() -> None:
    """`kubectl scale deployment app --replicas=5` while idle: the primary, which serves the
    traffic, follows; the Deployment goes back to zero; the next canary gets 5 replicas."""
    cluster = Cluster().initialised()
    cluster.deployments.settle()
    cluster.deployments.source = replace(cluster.deployments.source, replicas=5)
    cluster.now += SECOND
    followed = cluster.tick()
    assert actions(followed, ScaleWorkload) == [ScaleWorkload(5, primary=True), ScaleWorkload(0)]
    assert followed.status.workload is not None and followed.status.workload.replicas == 5
    assert cluster.deployments.primary.replicas == 5
    cluster.deployments.settle()
    cluster.deployments.release("v2")
    cluster.now += SECOND
    assert actions(cluster.tick(), ScaleWorkload) == [ScaleWorkload(5)]


def test_with_an_autoscaler_the_primary_is_left_to_its_copy() -> None:
    spec = workload_spec()
    spec["workload"] = {**spec["workload"], "autoscalerRef": {"name": "app"}}
    cluster = Cluster(spec=spec).initialised()
    cluster.deployments.settle()
    cluster.deployments.source = replace(cluster.deployments.source, replicas=5)
    cluster.now += SECOND
    assert actions(cluster.tick(), ScaleWorkload) == [ScaleWorkload(0)]


@pytest.mark.parametrize("phase_of", ["succeeded", "progressing"])
def test_an_hpa_copy_out_of_line_is_copied_again_whatever_the_phase_decides(
    phase_of: str,
) -> None:
    spec = workload_spec()
    spec["workload"] = {**spec["workload"], "autoscalerRef": {"name": "app"}}
    cluster = Cluster(spec=spec).initialised()
    if phase_of == "progressing":
        cluster.deployments.release("v2")
        cluster.run(20)
        assert cluster.status.phase is Phase.PROGRESSING, cluster.status.message
    cluster.now += SECOND
    in_line = cluster.tick()
    assert actions(in_line, EnsureWorkload) == []

    cluster.deployments.autoscaler_in_line = False  # the user edited their HPA
    cluster.now += SECOND
    before = cluster.status
    out = cluster.tick()
    assert actions(out, EnsureWorkload) == [EnsureWorkload(2)]
    assert out.actions[0] == EnsureWorkload(2)  # before whatever the phase does
    assert out.status.phase is before.phase and out.status.canary_weight == before.canary_weight
    cluster.now += SECOND
    assert actions(cluster.tick(), EnsureWorkload) == []  # copied: in line again


def test_without_autoscaler_ref_nothing_is_copied() -> None:
    cluster = Cluster().initialised()
    cluster.now += SECOND
    assert actions(cluster.tick(), EnsureWorkload) == []

"""`canary wait --image` / `--revision` in workload mode: the spec does not change between
releases, so the wait is for the rollout whose status names the image (or the pod template
hash) the pipeline just applied, never the previous one; the exit codes are `wait`'s own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cliworld import canary_obj, condition, snap
from harness.fakes import ScriptedApi

from canary.cli.conclusion import Conclusion, Target, WaitFor, judge, lock
from canary.cli.exitcodes import ExitCode
from canary.cli.snapshot import Snapshot, snapshot
from canary.cli.wait import result, wait_for

pytestmark = pytest.mark.unit

V1, V2, V3 = "shop/api:v1", "shop/api:v2", "shop/api:v3"
H1, H2, H3 = "1a1a1a1a1a", "2b2b2b2b2b", "3c3c3c3c3c"
WORKLOAD = {"name": "api", "port": 8080}


def wl_status(
    phase: str,
    revision: str,
    images: tuple[str, ...],
    *,
    canary_revision: str | None = None,
    primary: str = H1,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "phase": phase,
        "revision": revision,
        "observedGeneration": 1,
        "workload": {
            "primaryRevision": primary,
            "canaryRevision": canary_revision or revision,
            "images": list(images),
            "replicas": 3,
        },
        **extra,
    }


def wl_obj(status: dict[str, Any], version: int = 1) -> dict[str, Any]:
    obj = canary_obj(revision=None, status=status, workload=WORKLOAD)
    del obj["spec"]["stable"], obj["spec"]["canary"]
    obj["metadata"]["resourceVersion"] = str(version)
    return obj


def wl_snap(status: dict[str, Any]) -> Snapshot:
    return snapshot(wl_obj(status))


PROMOTED_V1 = wl_status("Succeeded", H1, (V1,))
PENDING_V2 = wl_status("Pending", H2, (V2,))
PROGRESSING_V2 = wl_status("Progressing", H2, (V2,), currentStep=1, totalSteps=3, canaryWeight=5)
PROMOTED_V2 = wl_status("Succeeded", H2, (V2,), primary=H2)
ROLLED_BACK_V2 = wl_status(
    "RolledBack",
    H2,
    (V2,),
    conditions=[condition("RolledBack", "True", "MetricChecksFailed", "success-rate 50 < 99")],
)
PROGRESSING_V3 = wl_status("Progressing", H3, (V3,), currentStep=1, totalSteps=3, canaryWeight=5)


async def wait(
    statuses: list[dict[str, Any]],
    *,
    image: str | None = None,
    revision: str | None = None,
    want: WaitFor = WaitFor.PROMOTED,
) -> tuple[Conclusion, list[str]]:
    """Play the statuses as the list then watch events; the conclusion and progress lines."""
    objs = [wl_obj(s, i) for i, s in enumerate(statuses, 1)]
    api = ScriptedApi([[objs[0]]], [[("MODIFIED", o) for o in objs[1:]]])
    said: list[str] = []

    def progress(_: Snapshot | None, conclusion: Conclusion) -> None:
        said.append(conclusion.message)

    conclusion, _ = await wait_for(
        api,
        "shop",
        "api",
        want=want,
        revision=revision,
        limit=timedelta(seconds=1),
        on_change=progress,
        image=image,
    )
    return conclusion, said


async def test_the_previous_success_is_not_the_new_images() -> None:
    conclusion, said = await wait([PROMOTED_V1, PENDING_V2, PROGRESSING_V2, PROMOTED_V2], image=V2)
    assert conclusion.code is ExitCode.OK
    assert conclusion.message == f"revision {H2} promoted"
    assert said[0] == (
        f"status is about an older revision {H1} (images {V1}); the rollout of image {V2} has "
        "not started yet."
    )
    assert "Progressing: step 1/3, canary 5%" in said[2] and f"({V2})" in said[2]


async def test_a_rollback_of_the_new_image_exits_1_with_why() -> None:
    conclusion, _ = await wait([PROMOTED_V1, PROGRESSING_V2, ROLLED_BACK_V2], image=V2)
    assert conclusion.code is ExitCode.FAILED
    assert conclusion.message == (
        f"revision {H2} rolled back (MetricChecksFailed): success-rate 50 < 99"
    )


async def test_waiting_for_a_rollback_of_it_exits_0() -> None:
    conclusion, _ = await wait([PROGRESSING_V2, ROLLED_BACK_V2], image=V2, want=WaitFor.ROLLED_BACK)
    assert conclusion.code is ExitCode.OK


async def test_an_older_revision_only_keeps_waiting_until_the_timeout() -> None:
    conclusion, _ = await wait([PROMOTED_V1], image=V2)
    assert conclusion.code is ExitCode.TIMEOUT
    assert conclusion.message.startswith("timed out after 1s: status is about an older revision")


async def test_a_newer_template_replacing_the_one_waited_for_fails() -> None:
    conclusion, _ = await wait([PROGRESSING_V2, PROGRESSING_V3, PROMOTED_V2], image=V2)
    assert conclusion.code is ExitCode.FAILED
    assert f"revision {H2} was replaced by a newer pod template (revision {H3}" in (
        conclusion.message
    )


async def test_a_revision_hash_waits_for_that_status_revision() -> None:
    conclusion, said = await wait([PROMOTED_V1, PROGRESSING_V2, PROMOTED_V2], revision=H2)
    assert conclusion.code is ExitCode.OK
    assert f"revision {H2} has not started yet" in said[0]


def test_images_of_another_template_revision_do_not_count() -> None:
    # The Deployment's template changed (canaryRevision H3, images v3) but the status is still
    # about H2: its images are not H2's, so nothing is concluded from them.
    torn = wl_status("Succeeded", H2, (V3,), canary_revision=H3)
    conclusion = judge(wl_snap(torn), Target(WaitFor.PROMOTED, None, 1, image=V3))
    assert not conclusion.done
    assert conclusion.message.startswith(
        f"status is about an older revision {H2} (the Deployment's template {H3}, images {V3}, "
        "has not started yet)"
    )


def test_the_image_is_one_of_several_containers() -> None:
    both = wl_status("Succeeded", H2, ("shop/proxy:1.0", V2))
    conclusion = judge(wl_snap(both), Target(WaitFor.PROMOTED, None, 1, image=V2))
    assert conclusion.code is ExitCode.OK


def test_without_image_or_revision_the_current_template_is_followed() -> None:
    target = Target(WaitFor.PROMOTED, None, 1)
    assert lock(wl_snap(PROGRESSING_V2), target) == target
    assert judge(wl_snap(PROGRESSING_V3), target).code is None
    assert judge(wl_snap(PROMOTED_V2), target).code is ExitCode.OK


def test_an_image_for_a_two_services_canary_is_a_usage_error() -> None:
    conclusion = judge(snap(), Target(WaitFor.PROMOTED, None, 1, image=V2))
    assert conclusion.code is ExitCode.USAGE
    assert "workload mode" in conclusion.message


def test_a_paused_canary_holding_the_new_image_says_so() -> None:
    obj = wl_obj(PROMOTED_V1)
    obj["spec"]["paused"] = True
    conclusion = judge(snapshot(obj), Target(WaitFor.PROMOTED, None, 1, image=V2))
    assert not conclusion.done and "canary resume" in conclusion.message


def test_waiting_for_the_canary_to_be_ready_says_since_when() -> None:
    waiting = wl_status("Pending", H2, (V2,))
    waiting["workload"]["waitingSince"] = "2025-03-01T12:00:05Z"
    said = judge(wl_snap(waiting), Target(WaitFor.PROMOTED, None, 1, image=V2)).message
    assert said.endswith("waiting since 12:00:05 for the canary Deployment to be ready")


def test_the_json_result_names_the_image_and_the_revisions() -> None:
    s = wl_snap(PROMOTED_V2)
    out = result("shop/api", WaitFor.PROMOTED, None, Conclusion(ExitCode.OK, "ok"), s, V2)
    assert out["image"] == V2 and out["images"] == [V2]
    assert out["statusRevision"] == H2 and out["primaryRevision"] == H2

"""10,000 hypothesis-generated Canary specs (valid-looking and broken) against the real API
server, with a running operator: every spec is either rejected by the API server with a message
that names the broken field, or accepted and reconciled (a status for its generation) without
an exception in the operator's log.

Hypothesis generates the cases up front (seeded), then they are created in batches; accepted
Canaries are deleted once reconciled, so the namespace stays small. Shrinking would mean
replaying cases against a server, so a failure lists the offending specs instead.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from typing import Any

import pytest
from faults.faultkit import App, _bounded, record_result
from faults.specfuzz import Case, cases
from harness.operators import Operators
from harness.waiting import eventually
from hypothesis import HealthCheck, Phase, given, seed, settings
from pydantic import ValidationError

from canary.api.spec import CanarySpec
from canary.kube.errors import KubeError
from canary.kube.resources import CANARY, JsonObj

pytestmark = pytest.mark.timeout(1800)  # about 5 minutes on 2 cores; generous for CI
EXAMPLES = int(os.environ.get("CANARY_FUZZ_EXAMPLES", "10000"))
SEED = int(os.environ.get("CANARY_FAULT_SEED", "20250301"))
BATCH = 250
NAMES_A_FIELD = re.compile(r"\bspec(\.|\[|:)")


def generate(count: int) -> list[Case]:
    found: list[Case] = []

    @seed(SEED)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(cases())
    def collect(case: Case) -> None:
        found.append(case)

    collect()
    return found


def model_accepts(spec: JsonObj) -> bool:
    try:
        CanarySpec.model_validate(spec)
    except ValidationError:
        return False
    return True


async def test_fuzzed_specs_are_rejected_clearly_or_reconciled(
    fault_app: App, operators: Operators
) -> None:
    started = time.monotonic()
    generated = generate(EXAMPLES)
    generated_s = time.monotonic() - started
    await fault_app.setup(["fz"])
    operator = operators.start()
    await operators.wait_ready(operator)
    kube, namespace = fault_app.kube, fault_app.namespace
    unclear: list[str] = []
    missed_field: list[str] = []
    not_reconciled: list[str] = []
    tally: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    stricter: Counter[str] = Counter()  # where the API server is stricter than the model

    async def create(index: int, case: Case) -> tuple[str, str | None]:
        spec, _ = case
        name = f"fz-{index}"
        body = {"apiVersion": CANARY.api_version, "kind": "Canary",
                "metadata": {"name": name, "namespace": namespace}, "spec": spec}
        try:
            await kube.create(CANARY, body, namespace)
        except KubeError as exc:
            if exc.status not in (400, 422):
                raise
            return name, str(exc)
        return name, None

    for offset in range(0, len(generated), BATCH):
        batch = generated[offset : offset + BATCH]
        results = await _bounded(
            (create(offset + i, case) for i, case in enumerate(batch)), limit=24
        )
        accepted: list[str] = []
        for (spec, hint), (name, rejection) in zip(batch, results, strict=True):
            in_model = model_accepts(spec)
            kind = "broken" if hint else "valid-looking"
            tally[f"{kind} {'rejected' if rejection else 'accepted'}"] += 1
            if rejection is None:
                accepted.append(name)
                if not in_model:
                    tally["accepted by the API, refused by the model"] += 1
                continue
            if in_model:
                tally["rejected by the API, accepted by the model"] += 1
                stricter[hint or "valid-looking"] += 1
            if not NAMES_A_FIELD.search(rejection):
                unclear.append(f"{name}: {rejection[:300]} <- {spec}")
            elif hint and hint not in rejection:
                missed_field.append(f"{name}: expected {hint!r} in: {rejection[:300]}")
            if hint:
                reasons[hint] += 1

        async def reconciled(accepted: list[str] = accepted) -> bool:
            items, _ = await kube.list(CANARY, namespace)
            done = {
                o["metadata"]["name"]
                for o in items
                if (o.get("status") or {}).get("observedGeneration")
                == o["metadata"].get("generation")
            }
            return set(accepted) <= done

        try:
            await eventually(reconciled, within=180, what=f"batch {offset} reconciled", every=0.5)
        except AssertionError as exc:
            not_reconciled.append(str(exc)[:500])
            break
        await _bounded((kube.delete(CANARY, name, namespace) for name in accepted), limit=24)
        if not operator.alive():
            break

    async def emptied() -> bool:
        items, _ = await kube.list(CANARY, namespace)
        return not items

    await eventually(emptied, within=180, what="every fuzzed Canary finalized", every=1)
    problems = operators.problems()
    reconciles = sum(line.get("event") == "reconciled" for line in operators.all_lines())
    figures: dict[str, Any] = {
        "injected": "hypothesis-generated Canary specs (valid-looking and broken, seeded)",
        "injections": len(generated),
        "seed": SEED,
        **{key.replace(" ", "_").replace(",", ""): value for key, value in sorted(tally.items())},
        "broken_kinds": len(reasons),
        "api_stricter_than_model": dict(stricter),
        "reconciles": reconciles,
        "generate_s": round(generated_s, 1),
        "seconds": round(time.monotonic() - started, 1),
        "violations": len(unclear) + len(missed_field) + len(problems) + len(not_reconciled),
        "violation_samples": (unclear + missed_field + problems + not_reconciled)[:20],
    }
    record_result("fuzz-specs", figures)
    assert operator.alive(), f"the operator died:\n{operator.log_tail()}"
    assert not not_reconciled, not_reconciled
    assert not problems, "\n".join(problems[:10])
    assert not unclear, "\n".join(unclear[:10])
    assert not missed_field, "\n".join(missed_field[:10])
    assert len(generated) == EXAMPLES

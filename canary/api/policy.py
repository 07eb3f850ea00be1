"""How an outcome without a value to judge counts in a check: shared by threshold gates (no
data, errors) and comparisons (not yet conclusive)."""

from __future__ import annotations

from enum import StrEnum


class OutcomePolicy(StrEnum):
    """How a query outcome that has no value to judge (no data, an error, or a comparison that
    is not yet conclusive) counts."""

    INCONCLUSIVE = "Inconclusive"
    FAIL = "Fail"
    PASS = "Pass"

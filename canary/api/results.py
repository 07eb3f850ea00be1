"""The last result of a metric gate as the status reports it: what the query returned, how it
counted, against which bounds, with the rendered query and a sentence.

Values only; judging samples into results is `canary.core.verdicts`' job.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from canary.api.model import ApiModel

MESSAGE_LIMIT = 4096
QUERY_LIMIT = 8192


class MetricOutcome(StrEnum):
    """What a query returned, before any judgement."""

    VALUE = "Value"
    NO_DATA = "NoData"
    ERROR = "Error"


class MetricVerdict(StrEnum):
    """What a result counts as in its check, after thresholds and the no-data/error policy."""

    PASS = "Pass"
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"


class BackendSamples(ApiModel):
    """One backend's samples in a comparison, over the window since the rollout started."""

    requests: float
    """Requests in the window."""

    failures: float
    """Failed requests (a latency comparison: requests slower than the boundary)."""


class ComparisonKind(StrEnum):
    ERROR_RATE = "ErrorRate"
    LATENCY = "Latency"


class ComparisonEvidence(ApiModel):
    """The evidence of a comparison gate at its last look: the effect, its confidence sequence,
    the test statistic and the samples it rests on."""

    kind: ComparisonKind
    """`ErrorRate` or `Latency`."""

    effect: float
    """Estimated canary minus stable, in percentage points of requests (errors; for latency,
    requests slower than `boundary` against the stable's share slower than `boundary` divided
    by the tolerated slowdown)."""

    lower: float
    """Lower end of the effect's anytime-valid confidence sequence (percentage points)."""

    upper: float
    """Upper end of the effect's confidence sequence (percentage points)."""

    tolerance: float
    """The tolerated effect (percentage points): Fail when `lower` is above it, Pass when
    `upper` is below it."""

    log_evidence: float
    """Natural log of the test's likelihood ratio against "within the tolerance"."""

    threshold: float
    """The log evidence at which harm is conclusive: log(1/alpha) of this gate."""

    canary: BackendSamples
    """The canary's samples."""

    stable: BackendSamples
    """The stable backend's samples."""

    boundary: float | None = None
    """Latency: the bucket boundary (the histogram's unit) where the evidence is strongest."""

    since: datetime | None = None
    """The start of the window both backends were measured over (the rollout's start)."""


class MetricResult(ApiModel):
    """The last result of one metric gate (or of the traffic guard)."""

    name: str = Field(max_length=63)
    """The gate's name (`minRequests` for the traffic guard)."""

    outcome: MetricOutcome
    """`Value`, `NoData` (empty result or NaN) or `Error` (the query failed)."""

    value: float | None = None
    """The value, when there was one (absent for NoData, Error and infinities)."""

    min: float | None = None
    """The gate's lower bound at the time of the check."""

    max: float | None = None
    """The gate's upper bound at the time of the check."""

    verdict: MetricVerdict
    """How the result counted: `Pass`, `Fail` or `Inconclusive`."""

    query: str = Field(default="", max_length=QUERY_LIMIT)
    """The rendered query that was run."""

    time: datetime
    """When the check ran."""

    message: str = Field(default="", max_length=MESSAGE_LIMIT)
    """A sentence explaining the verdict, e.g. `92.1 is below min 99`."""

    comparison: ComparisonEvidence | None = None
    """A comparison gate's evidence (its `value` is the effect)."""

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

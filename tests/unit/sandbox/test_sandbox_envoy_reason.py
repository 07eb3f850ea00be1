"""Envoy's rejection reasons, read from its log without the parts that change every time."""

from __future__ import annotations

import pytest

from canary.sandbox.gateway.push import rejection_reason

pytestmark = pytest.mark.unit

LOG = """\
[2026-11-26 04:50:08.905][16886][warning][main] [server.cc:1059] There is no configured limit
[2026-11-26 04:50:12.215][16886][warning][config] [filesystem_subscription_impl.cc:81] \
Filesystem config update rejected: Sum of weights in the weighted_cluster must be greater than 0.
[2026-11-26 04:50:12.778][16886][warning][config] [filesystem_subscription_impl.cc:128] \
Filesystem config update failure: in /x/lds.json, Unable to parse JSON as proto
"""


def test_the_reason_keeps_envoys_words_and_drops_timestamps() -> None:
    assert rejection_reason(LOG) == (
        "Sum of weights in the weighted_cluster must be greater than 0.; "
        "in /x/lds.json, Unable to parse JSON as proto"
    )


def test_a_log_without_a_reason_points_at_the_log() -> None:
    assert rejection_reason("nothing here") == "see the Envoy log"

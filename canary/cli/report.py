"""The machine-readable form of `canary check`'s findings (`-o json|yaml`).

Pure: findings in, plain data out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from canary.cli.findings import Finding, blocking
from canary.cli.manifest import Manifest


def report(results: Sequence[tuple[Manifest, Sequence[Finding]]], blocked: bool) -> dict[str, Any]:
    return {
        "blocking": blocked,
        "canaries": [
            {
                "canary": m.title,
                "source": m.source,
                "blocking": blocking(found),
                "findings": [
                    {
                        "severity": str(f.severity),
                        "subject": f.subject,
                        "message": f.message,
                        "hint": f.hint,
                    }
                    for f in found
                ],
            }
            for m, found in results
        ],
    }

"""The `canary` command's exit codes, one meaning each, so a pipeline can branch on them.

Defined once here and listed in docs/cli.md; `CliFailure` carries a code out of a command. The
numbers are a public contract: never renumber one.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    TIMEOUT = 3
    NOT_FOUND = 4
    ERROR = 5


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "The condition waited for holds, the command did what was asked, or `check` "
    "found nothing blocking.",
    ExitCode.FAILED: "The rollout was rolled back or failed, or can no longer reach what was "
    "waited for (e.g. a newer revision replaced it); `check` found something that blocks.",
    ExitCode.USAGE: "Bad flags or arguments (click's own code for usage errors).",
    ExitCode.TIMEOUT: "`--timeout` passed before the condition held.",
    ExitCode.NOT_FOUND: "The Canary does not exist, or was deleted while waiting.",
    ExitCode.ERROR: "The API server could not be reached or refused the request (kubeconfig, "
    "RBAC), or an object could not be read.",
}


class CliFailure(Exception):
    """End the command with `code` after printing `message` to stderr."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

"""Turn a Kubernetes Secret's `data` into Prometheus credentials.

Pure: the reconciler reads the Secret, this decodes it. Errors name the keys that were found,
never the values, because the values are credentials.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from canary.providers.base import PrometheusEndpoint

TOKEN_KEY = "token"
USERNAME_KEY = "username"
PASSWORD_KEY = "password"


class SecretAuthError(ValueError):
    """The Secret does not hold usable credentials; the message says what to fix."""


@dataclass(frozen=True)
class SecretAuth:
    """Credentials from a Secret: exactly one of the two fields is set."""

    bearer_token: str | None = field(default=None, repr=False)
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)

    def apply(self, config: PrometheusEndpoint) -> PrometheusEndpoint:
        """`config` with these credentials instead of whatever it had."""
        return dataclasses.replace(
            config, bearer_token=self.bearer_token, basic_auth=self.basic_auth
        )


def auth_from_secret_data(data: Mapping[str, str]) -> SecretAuth:
    """Decode a Secret's base64 `data`: either `token`, or `username` and `password`.

    Other keys (a `ca.crt`, notes) are ignored. One trailing newline is dropped from each value,
    because `kubectl create secret --from-file` keeps the newline most editors add.
    """
    has_token = TOKEN_KEY in data
    has_user, has_password = USERNAME_KEY in data, PASSWORD_KEY in data
    found = ", ".join(sorted(data)) or "none"
    if has_token and (has_user or has_password):
        raise SecretAuthError(
            f"Secret has both '{TOKEN_KEY}' and '{USERNAME_KEY}'/'{PASSWORD_KEY}': "
            "keep one kind of credentials"
        )
    if has_token:
        token = _decode(data, TOKEN_KEY)
        if not token:
            raise SecretAuthError(f"Secret key '{TOKEN_KEY}' is empty")
        return SecretAuth(bearer_token=token)
    if has_user and has_password:
        username = _decode(data, USERNAME_KEY)
        if not username:
            raise SecretAuthError(f"Secret key '{USERNAME_KEY}' is empty")
        return SecretAuth(basic_auth=(username, _decode(data, PASSWORD_KEY)))
    if has_user or has_password:
        missing = PASSWORD_KEY if has_user else USERNAME_KEY
        raise SecretAuthError(
            f"Secret has no '{missing}' key; basic auth needs both "
            f"'{USERNAME_KEY}' and '{PASSWORD_KEY}'"
        )
    raise SecretAuthError(
        f"Secret holds no credentials: expected '{TOKEN_KEY}' (bearer token) or "
        f"'{USERNAME_KEY}' and '{PASSWORD_KEY}' (basic auth); found keys: {found}"
    )


def _decode(data: Mapping[str, str], key: str) -> str:
    try:
        raw = base64.b64decode(data[key], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretAuthError(
            f"Secret key '{key}' is not valid base64 (use `data` with "
            "base64 values, or `stringData` when writing the Secret)"
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SecretAuthError(f"Secret key '{key}' is not UTF-8 text") from exc
    return text.removesuffix("\n").removesuffix("\r")

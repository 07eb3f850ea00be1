"""Credentials from a Secret's data: a token, or a username and password, and nothing vague."""

from __future__ import annotations

import base64

import pytest

from canary.providers.auth import SecretAuth, SecretAuthError, auth_from_secret_data
from canary.providers.base import PrometheusEndpoint

pytestmark = pytest.mark.unit


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_token_key_gives_a_bearer_token() -> None:
    assert auth_from_secret_data({"token": _b64("abc.def")}) == SecretAuth(bearer_token="abc.def")


def test_username_and_password_give_basic_auth() -> None:
    auth = auth_from_secret_data({"username": _b64("ops"), "password": _b64("p@ss: word")})
    assert auth == SecretAuth(basic_auth=("ops", "p@ss: word"))


def test_one_trailing_newline_from_a_file_is_dropped() -> None:
    assert auth_from_secret_data({"token": _b64("abc\n")}).bearer_token == "abc"
    auth = auth_from_secret_data({"username": _b64("ops\r\n"), "password": _b64("pw\n")})
    assert auth.basic_auth == ("ops", "pw")


def test_unrelated_keys_are_ignored() -> None:
    assert auth_from_secret_data({"token": _b64("t"), "ca.crt": _b64("pem")}).bearer_token == "t"


def test_both_kinds_of_credentials_are_ambiguous() -> None:
    with pytest.raises(SecretAuthError, match="both 'token' and"):
        auth_from_secret_data({"token": _b64("t"), "username": _b64("u"), "password": _b64("p")})


@pytest.mark.parametrize(
    ("data", "missing"), [({"username": "dQ=="}, "password"), ({"password": "cA=="}, "username")]
)
def test_half_of_basic_auth_names_the_missing_key(data: dict[str, str], missing: str) -> None:
    with pytest.raises(SecretAuthError, match=f"no '{missing}' key"):
        auth_from_secret_data(data)


def test_no_credentials_lists_the_expected_and_the_found_keys() -> None:
    with pytest.raises(SecretAuthError, match=r"expected 'token'.*found keys: ca\.crt, user"):
        auth_from_secret_data({"user": _b64("u"), "ca.crt": _b64("x")})


def test_an_empty_secret_says_it_found_no_keys() -> None:
    with pytest.raises(SecretAuthError, match="found keys: none"):
        auth_from_secret_data({})


def test_values_that_are_not_base64_are_rejected_with_a_hint_about_string_data() -> None:
    with pytest.raises(SecretAuthError, match=r"not valid base64.*stringData"):
        auth_from_secret_data({"token": "not base64!"})


def test_values_that_are_not_utf8_are_rejected() -> None:
    with pytest.raises(SecretAuthError, match="not UTF-8"):
        auth_from_secret_data({"token": base64.b64encode(b"\xff\xfe").decode()})


def test_empty_values_are_rejected() -> None:
    with pytest.raises(SecretAuthError, match="'token' is empty"):
        auth_from_secret_data({"token": ""})
    with pytest.raises(SecretAuthError, match="'username' is empty"):
        auth_from_secret_data({"username": "", "password": _b64("p")})


def test_errors_never_contain_the_secret_values() -> None:
    with pytest.raises(SecretAuthError) as caught:
        auth_from_secret_data(
            {"token": _b64("s3cr3t"), "username": _b64("u"), "password": _b64("hunter2")}
        )
    assert "s3cr3t" not in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_applying_credentials_replaces_those_of_the_config() -> None:
    config = PrometheusEndpoint("http://prom:9090", bearer_token="old")
    updated = SecretAuth(basic_auth=("u", "p")).apply(config)
    assert updated.basic_auth == ("u", "p")
    assert updated.bearer_token is None
    assert updated.address == config.address

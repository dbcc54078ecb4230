from __future__ import annotations

import hashlib
import hmac

import pytest

from wacloud.inbound.signature import (
    SignatureCheck,
    SignatureResult,
    check_signature,
    hmac_sha256,
    sign,
)
from wacloud.inbound.verification import VerificationRequestError, subscription_challenge

SECRET = b"app-secret"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_sign_matches_metas_definition() -> None:
    expected = "sha256=" + hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, SECRET) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, SignatureCheck.MISSING),
        ("", SignatureCheck.MISSING),
        ("sha1=abc", SignatureCheck.MALFORMED),
        ("sha256=short", SignatureCheck.MALFORMED),
        ("sha256=" + "0" * 64, SignatureCheck.MISMATCH),
    ],
)
def test_bad_signatures_are_told_apart(header: str | None, expected: SignatureCheck) -> None:
    assert check_signature(BODY, header, [SECRET]) == SignatureResult(expected, None)


def test_signature_is_over_the_exact_bytes() -> None:
    header = sign(BODY, SECRET)
    assert check_signature(BODY, header, [SECRET]) == (SignatureCheck.VALID, SECRET)
    reserialised = BODY.replace(b",", b", ")
    assert check_signature(reserialised, header, [SECRET]).check is SignatureCheck.MISMATCH


def test_any_configured_app_secret_verifies_and_is_named() -> None:
    """The result says WHICH app signed: the tenant binding depends on it."""
    header = sign(BODY, b"second-app")
    assert check_signature(BODY, header, [SECRET, b"second-app"]) == (
        SignatureCheck.VALID,
        b"second-app",
    )
    assert check_signature(BODY, sign(BODY, SECRET), [SECRET, b"second-app"]).secret == SECRET
    assert check_signature(BODY, header.upper().replace("SHA256=", "sha256="), [b"second-app"]) == (
        SignatureCheck.VALID,
        b"second-app",
    )


def test_an_empty_secret_never_verifies() -> None:
    """A half-configured tenant (app_secret "") must not accept bodies signed with ""."""
    assert check_signature(BODY, sign(BODY, b""), [b""]).check is SignatureCheck.MISMATCH


def test_subscription_handshake() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "42"}
    assert subscription_challenge(params, "tok") == "42"
    assert subscription_challenge({**params, "hub.verify_token": "nope"}, "tok") is None
    assert subscription_challenge({**params, "hub.mode": "unsubscribe"}, "tok") is None
    assert subscription_challenge({**params, "hub.challenge": ""}, "tok") is None
    # An unconfigured (empty) token must never verify, even against an empty offer.
    assert subscription_challenge({**params, "hub.verify_token": ""}, "") is None


def test_non_ascii_tokens_compare_without_raising() -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": "t\u00f6k\U0001f600",
        "hub.challenge": "7",
    }
    assert subscription_challenge(params, "tok") is None
    assert subscription_challenge(params, "t\u00f6k\U0001f600") == "7"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "\ud800", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": 5, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "\udfff"},
    ],
    ids=["lone surrogate token", "token not a string", "lone surrogate challenge"],
)
def test_unreadable_handshake_params_raise_a_clear_error(params: dict[str, object]) -> None:
    with pytest.raises(VerificationRequestError) as raised:
        subscription_challenge(params, "tok")  # type: ignore[arg-type]
    assert "\ud800" not in str(raised.value) and "\udfff" not in str(raised.value)


@pytest.mark.parametrize("key_length", [0, 1, 16, 63, 64, 65, 200])
@pytest.mark.parametrize("body", [b"", b"{}", bytes(range(256)) * 40])
def test_hmac_sha256_equals_the_stdlib(key_length: int, body: bytes) -> None:
    secret = bytes((i * 7 + 3) % 256 for i in range(key_length))
    assert hmac_sha256(secret, body) == hmac.digest(secret, body, "sha256")
    assert hmac_sha256(secret, body) == hmac_sha256(secret, body)  # cached pads not consumed

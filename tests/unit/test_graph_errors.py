"""Every error code of docs/meta/errors.md#codes has a deliberate class; the envelope parses as Meta
sends it."""

from __future__ import annotations

import pytest

from wacloud.graph.errors import (
    ERRORS,
    ErrorClass,
    GraphAPIError,
    GraphErrorInfo,
    classify,
    lookup,
    pair_rate_retry_seconds,
)

R, T, A, RL = ErrorClass.RETRYABLE, ErrorClass.TERMINAL, ErrorClass.AUTH, ErrorClass.RATE_LIMITED

# The expected class of every code in docs/meta/errors.md#codes and the families below it,
# written out independently of the table so a silent edit to the table fails here.
EXPECTED: dict[int, ErrorClass] = {
    0: A,
    1: R,
    2: R,
    3: T,
    4: RL,
    10: T,
    33: T,
    100: T,
    190: A,
    200: T,
    368: T,
    80007: RL,
    130403: ErrorClass.BLOCKED,
    130429: RL,
    130472: T,
    130497: T,
    131000: R,
    131005: T,
    131008: T,
    131009: T,
    131016: R,
    131021: T,
    131026: T,
    131030: T,
    131031: T,
    131037: T,
    131042: T,
    131045: T,
    131047: ErrorClass.NEEDS_TEMPLATE,
    131048: T,
    131049: T,
    131050: ErrorClass.OPTED_OUT,
    131051: T,
    131052: T,
    131053: T,
    131056: RL,
    131057: RL,
    131063: T,
    131064: T,
    132000: T,
    132001: T,
    132005: T,
    132007: T,
    132012: T,
    132015: T,
    132016: T,
    132018: T,
    132068: T,
    132069: RL,
    133000: T,
    133004: R,
    133005: T,
    133006: T,
    133008: T,
    133009: T,
    133010: T,
    133015: R,
    133016: T,
    134011: T,
    135000: T,
    2388019: T,
    2388039: T,
    2388040: T,
    2388047: T,
    2388072: T,
    2388073: T,
    2388293: T,
    2388299: T,
    139000: T,
    139001: T,
    139002: T,
    139003: T,
    139004: T,
    139100: T,
    139101: T,
    139102: T,
    139103: R,
    131055: T,
    134100: T,
    134101: T,
    134102: R,
}

# HTTP statuses as given in docs/meta/errors.md#codes (the old table's column); None where it has
# "—".
EXPECTED_STATUS: dict[int, int | None] = {
    0: 401,
    2: 503,
    3: 500,
    10: 403,
    190: 401,
    130403: None,
    131016: 500,
    131047: 400,
    131050: None,
    131056: 400,
    131057: 500,
    132001: 404,
    133004: 503,
    134102: 500,
}


def test_table_covers_exactly_the_expected_codes() -> None:
    assert set(ERRORS) == set(EXPECTED)


@pytest.mark.parametrize(("code", "expected"), sorted(EXPECTED.items()))
def test_every_code_classified(code: int, expected: ErrorClass) -> None:
    assert classify(code) is expected
    # A known code is decided by the code; the HTTP status does not override it.
    assert classify(code, 500) is expected
    assert classify(code, 400) is expected


@pytest.mark.parametrize(("code", "status"), sorted(EXPECTED_STATUS.items()))
def test_http_status_column(code: int, status: int | None) -> None:
    info = lookup(code)
    assert info is not None
    assert info.http_status == status


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (210, T),
        (299, T),
        (138002, T),
        (138999, T),
    ],
)
def test_documented_ranges(code: int, expected: ErrorClass) -> None:
    assert classify(code) is expected
    info = lookup(code)
    assert info is not None and info.code == code


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (500, R),
        (502, R),
        (503, R),
        (None, T),
        (400, T),
        (404, T),
        (429, T),
    ],
)
def test_unknown_code_falls_back_to_status(status: int | None, expected: ErrorClass) -> None:
    assert lookup(987654) is None
    assert classify(987654, status) is expected


def test_retry_hints() -> None:
    assert ERRORS[131056].retry_after_seconds == 1
    assert [pair_rate_retry_seconds(x) for x in range(4)] == [1, 4, 16, 64]
    assert pair_rate_retry_seconds(-1) == 1
    assert ERRORS[131057].retry_after_seconds == 60
    assert ERRORS[132069].retry_after_seconds == 3600
    assert ERRORS[130429].retry_after_seconds is None  # Meta gives no figure


def test_info_is_frozen() -> None:
    info = ERRORS[100]
    assert isinstance(info, GraphErrorInfo)
    with pytest.raises(AttributeError):
        info.code = 1  # type: ignore[misc]


META_ENVELOPE = {
    "error": {
        "message": "(#130429) Rate limit hit",
        "type": "OAuthException",
        "code": 130429,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": "Cloud API message throughput has been reached.",
        },
        "error_subcode": 2494055,
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
    }
}


def test_from_response_parses_meta_envelope() -> None:
    err = GraphAPIError.from_response(400, META_ENVELOPE)
    assert err.code == 130429
    assert err.subcode == 2494055
    assert err.type == "OAuthException"
    assert err.message == "(#130429) Rate limit hit"
    assert err.details == "Cloud API message throughput has been reached."
    assert err.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"
    assert err.http_status == 400
    assert err.error_class is RL
    assert err.info is ERRORS[130429]
    assert err.to_dict()["error_class"] == "rate_limited"
    assert "130429" in str(err)


def test_from_response_optional_fields_and_string_code() -> None:
    err = GraphAPIError.from_response(
        401,
        {
            "error": {
                "message": "Error validating access token",
                "code": "190",
                "is_transient": False,
                "error_user_title": "t",
                "error_user_msg": "m",
            }
        },
    )
    assert err.code == 190 and err.subcode is None and err.details is None
    assert err.error_class is A
    assert (err.is_transient, err.user_title, err.user_message) == (False, "t", "m")


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (502, None, R),
        (503, {"unexpected": True}, R),
        (400, {"error": "string"}, T),
        (500, {"error": {"message": "boom"}}, R),
        (400, {"error": {"message": "no code"}}, T),
        (500, {"error": {"code": 123456789, "message": "new"}}, R),
        (403, {"error": {"code": 123456789, "message": "new"}}, T),
    ],
)
def test_from_response_without_usable_code(status: int, body: object, expected: ErrorClass) -> None:
    err = GraphAPIError.from_response(status, body)  # type: ignore[arg-type]
    assert err.error_class is expected
    assert err.http_status == status

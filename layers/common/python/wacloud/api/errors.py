"""Errors as the operator API answers them: JSON with a stable code and a plain message.

Every refusal has the same body::

    {"error": {"code": "window_closed", "message": "...", "fields": [...]}, "request_id": "..."}

``code`` is stable (scripts and the CLI branch on it); ``message`` is for a person;
``fields`` (validation only) names each bad field and the problem, never its value:
a value can be a phone number or message text, and error bodies end up in logs.
The wacloud error families map to statuses here, once, so routes raise what the
features raise and never build responses for errors themselves.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from wacloud.errors import (
    ConfigurationError,
    ConflictError,
    InputError,
    NotFoundError,
    QueueError,
    TransientError,
    WacloudError,
)

logger = Logger()


class ApiError(WacloudError):
    """A refusal a route decides itself (403, 409 window_closed...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def error_response(
    app: APIGatewayHttpResolver,
    status: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
) -> Response[Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    request_id = (app.current_event.raw_event.get("requestContext") or {}).get("requestId")
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": error, "request_id": request_id},
    )


def invalid_cursor(exc: Exception) -> ApiError:
    """A list's `cursor` that is not one this API handed out (400 naming the field)."""
    return ApiError(
        400,
        "invalid_request",
        str(exc),
        [{"field": "cursor", "problem": "invalid", "message": str(exc)}],
    )


def _field_name(location: Any) -> str:
    parts = [str(p) for p in location if p not in ("body",)] if location else []
    where = str(location[0]) if location else "body"
    return ".".join(parts) if parts else where


def validation_fields(errors: list[Any]) -> list[dict[str, str]]:
    """Pydantic's errors without ``input``/``ctx`` (they echo what was sent)."""
    fields = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        fields.append(
            {
                "field": _field_name(error.get("loc") or ()),
                "problem": str(error.get("type", "invalid")),
                "message": str(error.get("msg", "invalid")).split(",", 1)[0]
                if error.get("type") != "value_error"
                else "invalid value",
            }
        )
    return fields


def install(app: APIGatewayHttpResolver) -> None:
    """Register the handlers that turn every error family into its answer."""

    @app.exception_handler(ApiError)
    def _api(exc: ApiError) -> Response[Any]:
        logger.info("request refused", extra={"code": exc.code, "status": exc.status})
        return error_response(app, exc.status, exc.code, exc.message, exc.fields)

    @app.not_found
    def _no_route(exc: Exception) -> Response[Any]:
        return error_response(app, 404, "no_route", "no such route; see /v1/openapi.json")

    @app.exception_handler(ServiceError)
    def _service(exc: ServiceError) -> Response[Any]:
        return error_response(app, exc.status_code, "invalid_request", str(exc.msg))

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response[Any]:
        fields = validation_fields(list(exc.errors()))
        logger.info("request invalid", extra={"fields": [f["field"] for f in fields]})
        return error_response(
            app, 400, "invalid_request", "the request has invalid or missing fields", fields
        )

    @app.exception_handler(NotFoundError)
    def _not_found(exc: NotFoundError) -> Response[Any]:
        return error_response(app, 404, "not_found", str(exc))

    @app.exception_handler(ConflictError)
    def _conflict(exc: ConflictError) -> Response[Any]:
        logger.info("request conflicts", extra={"error": type(exc).__name__})
        return error_response(app, 409, "conflict", str(exc))

    @app.exception_handler(InputError)
    def _input(exc: InputError) -> Response[Any]:
        logger.info("request input refused", extra={"error": type(exc).__name__})
        return error_response(app, 400, "invalid_request", str(exc))

    @app.exception_handler(ConfigurationError)
    def _config(exc: ConfigurationError) -> Response[Any]:
        logger.error("not configured", extra={"error": type(exc).__name__})
        return error_response(app, 503, "not_configured", str(exc))

    @app.exception_handler([QueueError, TransientError])
    def _unavailable(exc: Exception) -> Response[Any]:
        logger.warning("dependency unavailable", extra={"error": type(exc).__name__})
        return error_response(
            app, 503, "unavailable", "a dependency is unavailable; retry with the same request"
        )

    @app.exception_handler(Exception)
    def _bug(exc: Exception) -> Response[Any]:
        # The type only: an exception's message may quote input (privacy rule).
        logger.error("request failed", extra={"error": type(exc).__name__})
        return error_response(
            app, 500, "internal", "the request failed unexpectedly; see the logs by request_id"
        )

"""Every API error leaves as `{"error": {"code", "message"}}`, the message in the caller's language."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from bilten.i18n import normalize_locale, translate
from bilten.services.errors import BiltenError
from bilten.settings import get_settings

BUSY_RETRY_SECONDS = 2  # when no database connection came free in time

HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "too_many_requests",
}


class ErrorDetail(BaseModel):
    code: str  # stable, for programs: "sold_out", "not_found", "validation_error", ...
    message: str  # for people, in the caller's language (Accept-Language)
    # An invalid checkout answer also names its question (and the ticket, 0-based, for per-ticket ones).
    question_id: str | None = None
    question: str | None = None
    ticket_index: int | None = None


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


ERROR_DESCRIPTIONS = {
    400: "The request cannot be used (bad signature, unknown reference)",
    401: "Not signed in, or the token is invalid, expired or revoked",
    403: "Signed in, but not allowed to do this",
    404: "No such resource, or not yours to see",
    409: "Conflicts with the current state (sold out, not on sale, already done, payments not configured...)",
    410: "No longer valid (expired or revoked)",
    413: "The upload is too large",
    415: "The upload's type is not accepted",
    422: "The input is invalid",
    429: "Too many attempts: wait, then try again",
    502: "The payment provider could not be reached",
    503: "Busy: try again in a moment",
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI `responses=` for a router or an endpoint: the error answers it gives, each with the
    shared error body."""
    return {status: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


class BodyTooLarge(StarletteHTTPException):
    """A request body passed its cap while being read (bilten/api/body_limit.py). An HTTPException,
    so FastAPI's body parsing lets it through instead of calling it "an error parsing the body"."""

    def __init__(self, limit: int) -> None:
        super().__init__(413)
        self.limit = limit


def size_text(limit: int) -> str:
    return f"{limit / (1024 * 1024):.1f} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"


def payload_too_large(request: Request, limit: int) -> JSONResponse:
    message = translate("error.payload_too_large", request_locale(request), size=size_text(limit))
    return error_response(413, "payload_too_large", message, {"Connection": "close"})


def request_locale(request: Request) -> str:
    return normalize_locale(request.headers.get("accept-language"), get_settings().default_locale)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, extra: dict | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, **(extra or {})}}, status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BiltenError)
    async def _domain_error(request: Request, exc: BiltenError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if (retry_after := getattr(exc, "retry_after", None)) is not None:
            headers = {"Retry-After": str(retry_after)}  # RateLimited, Busy
        message = translate(exc.key, request_locale(request), **exc.params)
        # Some errors name what they are about (an invalid answer: `question_id`, `question`, `ticket_index`).
        return error_response(exc.status, exc.code, message, headers, getattr(exc, "extra", None))

    @app.exception_handler(PoolTimeout)
    async def _no_connection(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled database connection stayed taken for the pool's whole timeout (a rush of
        # orders that cannot share a commit): the client is told to come back, not a 500.
        message = translate("error.busy", request_locale(request), seconds=BUSY_RETRY_SECONDS)
        return error_response(503, "busy", message, {"Retry-After": str(BUSY_RETRY_SECONDS)})

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = translate("error.request_invalid", request_locale(request), field=where or "-")
        return error_response(422, "validation_error", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, BodyTooLarge):
            return payload_too_large(request, exc.limit)
        code = HTTP_ERROR_CODES.get(exc.status_code, "error")
        key = {404: "error.not_found", 401: "error.not_authenticated", 403: "error.forbidden"}.get(
            exc.status_code, "error.generic"
        )
        return error_response(exc.status_code, code, translate(key, request_locale(request)))

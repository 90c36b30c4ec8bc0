"""Domain errors. Each carries a stable code, a translatable message key and an HTTP status,
so the API answers `{"error": {"code", "message"}}` and pages show a translated toast."""

from __future__ import annotations


class BiltenError(Exception):
    code = "error"
    key = "error.generic"
    status = 400

    def __init__(self, detail: str = "", **params: object) -> None:
        super().__init__(detail or self.code)
        self.params = params


class ValidationFailed(BiltenError):
    code = "validation_error"
    key = "error.validation"
    status = 422

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key, **params)
        self.key = key


class NotAuthenticated(BiltenError):
    code = "not_authenticated"
    key = "error.not_authenticated"
    status = 401


class InvalidToken(BiltenError):
    code = "invalid_token"
    key = "error.invalid_token"
    status = 401


class TokenReused(BiltenError):
    code = "token_reused"
    key = "error.token_reused"
    status = 401


class Forbidden(BiltenError):
    code = "forbidden"
    key = "error.forbidden"
    status = 403


class NotFound(BiltenError):
    code = "not_found"
    key = "error.not_found"
    status = 404


class EmailTaken(BiltenError):
    code = "email_taken"
    key = "error.email_taken"
    status = 409


class InvalidCredentials(BiltenError):
    code = "invalid_credentials"
    key = "error.invalid_credentials"
    status = 401


class TooManyAttempts(BiltenError):
    code = "too_many_attempts"
    key = "error.too_many_attempts"
    status = 429

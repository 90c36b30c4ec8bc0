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


class EmailNotVerified(BiltenError):
    """Founding an organization or publishing an event waits until the account's address is confirmed."""

    code = "email_not_verified"
    key = "error.email_not_verified"
    status = 403


class InvalidCredentials(BiltenError):
    code = "invalid_credentials"
    key = "error.invalid_credentials"
    status = 401


class TooManyAttempts(BiltenError):
    code = "too_many_attempts"
    key = "error.too_many_attempts"
    status = 429


class SoldOut(BiltenError):
    code = "sold_out"
    key = "error.sold_out"
    status = 409


class TryAgain(BiltenError):
    """A lock could not be had within the cap (3 s): the rush is on, the buyer retries."""

    code = "try_again"
    key = "error.try_again"
    status = 503


class InvalidQuantity(BiltenError):
    code = "invalid_quantity"
    key = "error.invalid_quantity"
    status = 422


class QuantityOutOfRange(BiltenError):
    code = "quantity_out_of_range"
    key = "error.quantity_out_of_range"
    status = 422


class UnknownTicketType(BiltenError):
    code = "unknown_ticket_type"
    key = "error.unknown_ticket_type"
    status = 422


class EventNotOnSale(BiltenError):
    code = "event_not_on_sale"
    key = "error.event_not_on_sale"
    status = 409


class SalesNotOpen(BiltenError):
    code = "sales_not_open"
    key = "error.sales_not_open"
    status = 409


class SalesClosed(BiltenError):
    code = "sales_closed"
    key = "error.sales_closed"
    status = 409


class OrderNotPayable(BiltenError):
    code = "order_not_payable"
    key = "error.order_not_payable"
    status = 409


class OrderNotCancellable(BiltenError):
    code = "order_not_cancellable"
    key = "error.order_not_cancellable"
    status = 409


class NonceTaken(BiltenError):
    """A scan's nonce (its idempotency key) that was already used at another event."""

    code = "nonce_taken"
    key = "error.nonce_taken"
    status = 409


class PaymentsNotConfigured(BiltenError):
    """Paid tickets on a server without a payment provider: a standing state of this server, not a
    passing outage (so 409, not 503: retrying does not help, and monitors do not page anyone)."""

    code = "payments_not_configured"
    key = "error.payments_not_configured"
    status = 409


class PaymentUnavailable(BiltenError):
    code = "payment_unavailable"
    key = "error.payment_unavailable"
    status = 502


class AmountMismatch(BiltenError):
    code = "amount_mismatch"
    key = "error.amount_mismatch"
    status = 400


class UnknownOrder(BiltenError):
    code = "unknown_order"
    key = "error.unknown_order"
    status = 400


class InvalidSignature(BiltenError):
    code = "invalid_signature"
    key = "error.invalid_signature"
    status = 400


class TooManyRequests(BiltenError):
    code = "too_many_requests"
    key = "error.too_many_requests"
    status = 429


class AlreadyMember(BiltenError):
    code = "already_member"
    key = "error.team_already_member"
    status = 409


class AlreadyInvited(BiltenError):
    code = "already_invited"
    key = "error.team_already_invited"
    status = 409


class LastOwner(BiltenError):
    """An organization always keeps at least one owner: the last one can neither leave nor be demoted."""

    code = "last_owner"
    key = "error.team_last_owner"
    status = 409


class InvitationInvalid(BiltenError):
    code = "invitation_invalid"
    key = "error.invitation_invalid"
    status = 404


class InvitationExpired(BiltenError):
    code = "invitation_expired"
    key = "error.invitation_expired"
    status = 410


class InvitationRevoked(BiltenError):
    code = "invitation_revoked"
    key = "error.invitation_revoked"
    status = 410


class InvitationUsed(BiltenError):
    code = "invitation_used"
    key = "error.invitation_used"
    status = 409


class InvitationWrongAccount(BiltenError):
    code = "invitation_wrong_account"
    key = "error.invitation_wrong_account"
    status = 403


class EventCancelled(BiltenError):
    """A cancelled event stays as it is: no more edits, ticket types or publishing."""

    code = "event_cancelled"
    key = "error.event_cancelled"
    status = 409


class UnsupportedImage(BiltenError):
    code = "unsupported_image"
    key = "error.image_unsupported"
    status = 415


class ImageTooLarge(BiltenError):
    code = "image_too_large"
    key = "error.image_too_large"
    status = 413


class TwoFactorRequired(BiltenError):
    """The password was right; the account signs in with a one-time code too (send `otp`)."""

    code = "two_factor_required"
    key = "error.two_factor_required"
    status = 401


class InvalidOneTimeCode(BiltenError):
    code = "invalid_code"
    key = "error.invalid_code"
    status = 401


class TwoFactorAlreadyOn(BiltenError):
    code = "two_factor_already_on"
    key = "error.two_factor_already_on"
    status = 409


class TwoFactorNotOn(BiltenError):
    code = "two_factor_not_on"
    key = "error.two_factor_not_on"
    status = 409


class TwoFactorMandatory(BiltenError):
    """REQUIRE_2FA covers this account: its owner cannot turn two-factor sign-in off (an admin can reset it)."""

    code = "two_factor_mandatory"
    key = "error.two_factor_mandatory"
    status = 403


class TwoFactorSetupRequired(BiltenError):
    """REQUIRE_2FA covers this account and it has no two-factor sign-in yet: set it up on the web first."""

    code = "two_factor_setup_required"
    key = "error.two_factor_setup_required"
    status = 403


class RateLimited(BiltenError):
    """Too many attempts from one client address or on one account within a window (bilten/ratelimit.py)."""

    code = "rate_limited"
    key = "error.rate_limited"
    status = 429

    def __init__(self, retry_after: int) -> None:
        if retry_after >= 120:  # "wait 58 minutes", not "wait 3480 seconds"
            super().__init__(minutes=-(-retry_after // 60))
            self.key = "error.rate_limited_minutes"
        else:
            super().__init__(seconds=retry_after)
        self.retry_after = retry_after


class Busy(BiltenError):
    """Every slot for slow work (decoding pictures) is taken: the client tries again shortly."""

    code = "busy"
    key = "error.busy"
    status = 503

    def __init__(self, retry_after: int) -> None:
        super().__init__(seconds=retry_after)
        self.retry_after = retry_after


class PayloadTooLarge(BiltenError):
    code = "payload_too_large"
    key = "error.payload_too_large"
    status = 413


class VoucherInvalid(BiltenError):
    """No such code at this event, or not valid now: the same answer, so a guess learns nothing."""

    code = "voucher_invalid"
    key = "error.voucher_invalid"
    status = 404


class VoucherExhausted(BiltenError):
    code = "voucher_exhausted"
    key = "error.voucher_exhausted"
    status = 409


class VoucherNotApplicable(BiltenError):
    """The code is valid, but covers none of the ticket types in the order."""

    code = "voucher_not_applicable"
    key = "error.voucher_not_applicable"
    status = 409


class VoucherCodeTaken(BiltenError):
    code = "voucher_code_taken"
    key = "error.voucher_code_taken"
    status = 409


class VoucherInUse(BiltenError):
    """Orders used this voucher: it stays, so their record of the discount does (lower its uses instead)."""

    code = "voucher_in_use"
    key = "error.voucher_in_use"
    status = 409


class OfferNotAvailable(BiltenError):
    """A waiting-list offer that ran out, was used already, or never was."""

    code = "offer_not_available"
    key = "error.waiting_list_offer_unavailable"
    status = 409


class TicketsStillOnSale(BiltenError):
    """Joining the waiting list of a ticket type that still has seats for sale: buy them instead."""

    code = "tickets_on_sale"
    key = "error.waiting_list_on_sale"
    status = 409


class WaitingListClosed(BiltenError):
    """The organizer turned this event's waiting list off."""

    code = "waiting_list_closed"
    key = "error.waiting_list_closed"
    status = 409


class AlreadyOnWaitingList(BiltenError):
    code = "already_on_waiting_list"
    key = "error.waiting_list_duplicate"
    status = 409

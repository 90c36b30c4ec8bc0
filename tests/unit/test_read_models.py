"""One shape per read model: the services return pydantic models and the API returns them unchanged.

What is checked here is what a client of `/api/v1` relies on: every JSON route documents the shape
it answers, that shape is the service's own model (not an API copy kept in step by hand), it never
is a table row, and the service's renamed or page-only fields leave under their API names or not
at all."""

from __future__ import annotations

import inspect
import pkgutil
import types
import typing
from importlib import import_module

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlmodel import SQLModel

import bilten.api
from bilten.api import create_api

# Shapes that exist only in the API, each for a reason; everything else leaves as a service model.
API_ONLY_SHAPES = {
    "bilten.api.errors.ErrorOut": "the error envelope of every error answer",
    "bilten.api.errors.ErrorDetail": "inside ErrorOut",
    "bilten.api.auth.RecoveryCodesOut": "wraps the list of codes the service returns",
    "bilten.api.auth.UnlockOut": "wraps the email address the service returns",
    "bilten.api.auth.VerifiedOut": "wraps the verification's outcome (a flag and an id)",
    "bilten.api.auth.ResendOut": "wraps whether the service sent an email",
}
# JSON routes without a response model, each for a reason.
UNTYPED_ROUTES = {
    ("GET", "/api/health"): "the load balancer's probe: a fixed status document with its own status code",
    ("POST", "/api/v1/webhooks/stripe"): "an acknowledgement for the payment provider, not a read model",
    ("POST", "/api/v1/auth/password-reset/request"): "a fixed acknowledgement, the same whatever the address",
}


def _api_modules() -> list[types.ModuleType]:
    return [import_module(f"bilten.api.{info.name}") for info in pkgutil.iter_modules(bilten.api.__path__)]


def _routes() -> list[APIRoute]:
    return [
        route
        for module in _api_modules()
        if hasattr(module, "router")
        for route in module.router.routes
        if isinstance(route, APIRoute)
    ]


def _models_in(annotation: object) -> set[type[BaseModel]]:
    """Every pydantic model a response annotation names, nested fields included."""
    found: set[type[BaseModel]] = set()

    def walk(tp: object) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in found:
                return
            found.add(tp)
            for field in tp.model_fields.values():
                walk(field.annotation)
            return
        for arg in typing.get_args(tp):
            walk(arg)

    walk(annotation)
    return found


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _origin(cls: type[BaseModel]) -> type[BaseModel]:
    """`Page` for `Page[EventOrderRow]` (parametrized where it is used, defined in the services)."""
    metadata = getattr(cls, "__pydantic_generic_metadata__", None)  # (BaseModel itself has none)
    return (metadata or {}).get("origin") or cls


def _is_table(cls: type[BaseModel]) -> bool:
    return issubclass(cls, SQLModel) and hasattr(cls, "__table__")


def test_every_json_route_declares_its_shape():
    untyped = set()
    for route in _routes():
        if _models_in(route.response_model) or route.status_code == 204 or not route.include_in_schema:
            continue  # (a `-> dict` annotation gives a response model that names no shape: untyped)
        if inspect.isclass(route.response_class) and route.response_class.__name__ in ("Response", "FileResponse"):
            continue  # a PDF, a calendar file, an export: not JSON
        untyped |= {(method, route.path) for method in route.methods}
    assert untyped == set(UNTYPED_ROUTES)


def test_response_models_are_the_services_own_frozen_models():
    offending = {}
    for route in _routes():
        for cls in _models_in(route.response_model):
            name = _name(cls)
            if name in API_ONLY_SHAPES:
                continue
            generic_origin = _origin(cls)
            if _is_table(cls):
                offending[name] = "a table row"
            elif cls.__module__.startswith("bilten.models"):
                continue  # a public shape next to its table (UserPublic): never the table itself
            elif not generic_origin.__module__.startswith("bilten.services"):
                offending[name] = f"defined in {cls.__module__}, not in bilten.services"
            elif not cls.model_config.get("frozen"):
                offending[name] = "not frozen"
    assert offending == {}


def test_the_api_defines_no_copies_of_read_models():
    defined = {
        _name(cls)
        for module in _api_modules()
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseModel)
        and _origin(cls).__module__ == module.__name__
        and not cls.__name__.endswith("In")  # input models belong to the API
    }
    assert defined == set(API_ONLY_SHAPES)


def _response_schema(method: str, path: str, status: str = "200") -> dict:
    document = create_api().openapi()
    schemas = document["components"]["schemas"]

    def resolve(schema: dict) -> dict:
        if "$ref" in schema:
            return resolve(schemas[schema["$ref"].rsplit("/", 1)[-1]])
        if schema.get("type") == "array":
            return resolve(schema["items"])
        return schema

    content = document["paths"][path][method]["responses"][status]["content"]["application/json"]
    return resolve(content["schema"])


@pytest.mark.parametrize(
    ("method", "path", "status", "fields"),
    [
        (
            "get",
            "/api/v1/events/{event_id}",
            "200",
            # EventDetail: `lowest_price_minor` leaves as `lowest_price`, its ticket types' `price_minor` as
            # `price`; the texts in every language (`translations`) stay out
            "id title starts_at ends_at timezone venue_name city image_url lowest_price currency language "
            "main_language description venue_address status ticket_types venue_notes",
        ),
        (
            "get",
            "/api/v1/events/{event_id}/manage",
            "200",
            # EditableEvent: the editor's counts and organization name stay on the page
            "id organization_id title description venue venue_address city timezone starts_at ends_at status "
            "image_url ticket_types venue_notes main_language translations allow_ticket_transfer",
        ),
        (
            "post",
            "/api/v1/events/{event_id}/ticket-types",
            "201",
            "id name description price currency quantity sold_or_held min_per_order max_per_order sales_start "
            "sales_end hidden tax_rate_bp translations",
        ),
        (
            "get",
            "/api/v1/held-tickets/{transfer_id}",
            "200",
            # HeldTicketView: the texts in every language stay out
            "id transfer_id code reference holder_name holder_email status ticket_type event_id event_title "
            "event_main_language event_starts_at event_timezone venue_name city transferable",
        ),
        ("post", "/api/v1/orders/validate", "200", "result ticket first_scan conflict replayed nonce answers"),
        ("post", "/api/v1/auth/two-factor/setup", "200", "secret otpauth_uri"),
        ("post", "/api/v1/devices", "201", "device_id device_token expires_at email"),
        (
            "get",
            "/api/v1/exports/{export_id}",
            "200",
            "id event_id kind format status rows_total rows_done percent created_at finished_at download_url",
        ),
        ("get", "/api/v1/events/{event_id}/orders", "200", "items total page page_size pages"),
    ],
)
def test_renamed_and_page_only_fields_leave_under_their_api_names_or_not_at_all(method, path, status, fields):
    schema = _response_schema(method, path, status)
    assert list(schema["properties"]) == fields.split()
    assert set(schema["required"]) <= set(fields.split())


def test_a_service_model_serializes_with_the_api_names():
    from bilten.services.events import TicketTypeSummary
    from bilten.services.two_factor import Enrolment

    ticket_type = TicketTypeSummary.model_validate(
        {
            "id": "8f1c4a52-3f43-4d0f-9a55-2f4a1e9f6b10",
            "name": "Standing",
            "description": "",
            "price_minor": 2500,
            "currency": "EUR",
            "available": 10,
            "min_per_order": 1,
            "max_per_order": 10,
            "sales_start": None,
            "sales_end": None,
        }
    )
    assert ticket_type.model_dump(mode="json", by_alias=True)["price"] == 2500
    with pytest.raises(ValueError):
        ticket_type.price_minor = 0  # type: ignore[misc]  # frozen: a page cannot change what it was given
    enrolment = Enrolment(
        secret="JBSWY3DP", otpauth_uri="otpauth://totp/x", qr_svg_data_uri="data:image/svg+xml,<svg/>"
    )
    assert enrolment.model_dump(mode="json", by_alias=True) == {"secret": "JBSWY3DP", "otpauth_uri": "otpauth://totp/x"}

"""Tax on ticket prices, in integer minor units: the one place that says what a buyer is charged
for a ticket whose organization prices net or gross. Pure arithmetic, plus the organization's
choice; invoices, placing an order and the event page all use it, so what is shown is what is paid.
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_EVEN, Decimal

from sqlmodel import Session

from bilten.models import InvoiceSettings

BASIS = 10_000  # basis points in 100 %


def div_half_even(numerator: int, denominator: int) -> int:
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def net_of_gross(gross_minor: int, rate_bp: int) -> int:
    """The net part of a gross amount at a rate, rounded half to even."""
    return div_half_even(gross_minor * BASIS, BASIS + rate_bp)


def tax_on_net(net_minor: int, rate_bp: int) -> int:
    return div_half_even(net_minor * rate_bp, BASIS)


def charged_unit_price(price_minor: int, rate_bp: int, *, prices_include_tax: bool) -> int:
    """What the buyer pays for one ticket: the price itself when prices are gross, else net + tax.
    (Dividing that gross by 1 + rate and rounding gives the net back exactly, so invoices of
    net-priced organizations show the organizer's own net price.)"""
    return price_minor if prices_include_tax else price_minor + tax_on_net(price_minor, rate_bp)


def prices_include_tax(session: Session, organization_id: uuid.UUID) -> bool:
    """The organization's choice (gross unless it said otherwise in its invoice settings)."""
    row = session.get(InvoiceSettings, organization_id)
    return True if row is None else row.prices_include_tax

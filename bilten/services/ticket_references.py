"""Ticket references: a short code a person can read out and type at the door when the QR will not scan.

Ten characters of Crockford's base32 (digits and letters without I, L, O and U), shown in groups
as `K7QM-4XHT-2P`. 32^10 is about 10^15: random (from `secrets`, never derived from the ticket
id), so a reference says nothing about other tickets and is as hard to guess as a short password.
Typed input is forgiving: case, spaces and dashes do not matter, and the look-alikes a reader
confuses are read as Crockford does (O -> 0, I and L -> 1). A unique index keeps references unique;
`unused_references` draws again on the (about one in 10^15 per pair) collision.
"""

from __future__ import annotations

import random
import secrets

from sqlmodel import Session, col, select

from bilten.models import Ticket

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
REFERENCE_LENGTH = 10
GROUPS = (4, 4, 2)  # K7QM-4XHT-2P
MAX_DRAWS = 20  # a collision is about 10^-15 per pair: twenty in a row means a broken random source
LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
DASHES = str.maketrans("", "", "-\u2010\u2011\u2012\u2013\u2014\u2212")

_system_random = secrets.SystemRandom()


def generate_reference(rng: random.Random = _system_random) -> str:
    """A fresh random reference, stored without dashes (`K7QM4XHT2P`)."""
    return "".join(rng.choice(ALPHABET) for _ in range(REFERENCE_LENGTH))


def normalize_reference(text: str) -> str | None:
    """What a person typed, as stored: upper case, no spaces or dashes, look-alikes mapped.
    None when it cannot be a reference (wrong length, a character outside the alphabet)."""
    compact = "".join((text or "")[: REFERENCE_LENGTH * 4].split()).translate(DASHES).upper().translate(LOOK_ALIKES)
    if len(compact) != REFERENCE_LENGTH or any(character not in ALPHABET for character in compact):
        return None
    return compact


def format_reference(reference: str) -> str:
    """For people: `K7QM-4XHT-2P`."""
    parts, start = [], 0
    for size in GROUPS:
        parts.append(reference[start : start + size])
        start += size
    return "-".join(part for part in parts if part)


def unused_references(session: Session, count: int, rng: random.Random = _system_random) -> list[str]:
    """`count` references no ticket holds yet (one query for the batch; redrawn on a collision).
    The unique index stays the last word if two transactions draw the same one at once."""
    chosen: list[str] = []
    for _ in range(MAX_DRAWS):
        wanted = count - len(chosen)
        if wanted == 0:
            return chosen
        drawn = {generate_reference(rng) for _ in range(wanted)} - set(chosen)
        taken = set(session.exec(select(Ticket.reference).where(col(Ticket.reference).in_(drawn))).all())
        chosen.extend(sorted(drawn - taken))
    if len(chosen) == count:
        return chosen
    raise RuntimeError("could not draw unused ticket references")

import base64
import uuid

import pytest

from bilten.services.ticket_codes import (
    CODE_LENGTH,
    InvalidCode,
    generate_event_keys,
    load_private_key,
    load_public_key,
    sign_ticket_code,
    verify_ticket_code,
)


@pytest.fixture(scope="module")
def keys():
    return generate_event_keys()


def _code(keys, event_id=None, ticket_id=None):
    return sign_ticket_code(
        load_private_key(keys.encrypted_private_key),
        event_id=event_id or uuid.uuid4(),
        ticket_id=ticket_id or uuid.uuid4(),
    )


def test_code_round_trip_names_ticket_and_event(keys):
    event_id, ticket_id = uuid.uuid4(), uuid.uuid4()
    code = _code(keys, event_id, ticket_id)
    assert len(code) == CODE_LENGTH and code.isalnum() and code == code.upper()
    parsed = verify_ticket_code(code, load_public_key(keys.public_key))
    assert parsed.ticket_id == ticket_id and parsed.event_tag == event_id.bytes[:4]
    assert verify_ticket_code(code.lower(), load_public_key(keys.public_key)).ticket_id == ticket_id


def test_every_single_byte_change_is_detected(keys):
    code = _code(keys)
    raw = bytearray(base64.b32decode(code))
    public = load_public_key(keys.public_key)
    for position in range(len(raw)):
        tampered = bytearray(raw)
        tampered[position] ^= 0x01
        with pytest.raises(InvalidCode):
            verify_ticket_code(base64.b32encode(bytes(tampered)).decode(), public)


def test_code_signed_with_another_events_key_is_refused(keys):
    other = generate_event_keys()
    with pytest.raises(InvalidCode):
        verify_ticket_code(_code(other), load_public_key(keys.public_key))


@pytest.mark.parametrize("junk", ["", "hello", "https://example.org/ticket/1", "A" * CODE_LENGTH, "1" * CODE_LENGTH])
def test_foreign_or_garbage_codes_are_refused(keys, junk):
    with pytest.raises(InvalidCode):
        verify_ticket_code(junk, load_public_key(keys.public_key))


def test_private_key_is_stored_encrypted(keys):
    assert keys.public_key not in keys.encrypted_private_key
    assert len(base64.urlsafe_b64decode(keys.encrypted_private_key + "==")) == 12 + 32 + 16

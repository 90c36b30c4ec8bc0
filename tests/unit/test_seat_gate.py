"""The seat gate's rules: refuse only what cannot fit, from knowledge it got from the database, and
ask the database again (one request per process) once that knowledge has aged."""

import json
import uuid
from dataclasses import replace

import pytest

from bilten.api.sold_out_gate import sold_out_body, wanted_seats
from bilten.services.seat_gate import PROBE_TIMEOUT_SECONDS, TRUST_SECONDS, Probe, Refusal, SeatGate, TypeCount

EVENT = uuid.uuid4()


class HandClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def count(left: int, *, event_id=EVENT, name="General", min_per_order=1, max_per_order=10, type_id=None):
    return TypeCount(
        ticket_type_id=type_id or uuid.uuid4(),
        event_id=event_id,
        name=name,
        left=left,
        min_per_order=min_per_order,
        max_per_order=max_per_order,
    )


@pytest.fixture
def clock():
    return HandClock()


@pytest.fixture
def gate(clock):
    return SeatGate(clock=clock)


def test_a_request_that_cannot_fit_is_refused_with_what_is_left_and_one_that_fits_goes_on(gate, clock):
    three = count(3)
    gate.learn([three], counted_at=clock.now)
    assert gate.check({three.ticket_type_id: 4}) == Refusal(name="General", available=3)
    assert gate.check({three.ticket_type_id: 3}) is None
    assert gate.check({uuid.uuid4(): 1}) is None  # never refused by the database: not the gate's to answer


def test_aged_knowledge_lets_exactly_one_request_ask_the_database_while_the_others_are_refused(gate, clock):
    gone = count(0)
    gate.learn([gone], counted_at=clock.now)
    clock.now += TRUST_SECONDS + 0.001
    probe = gate.check({gone.ticket_type_id: 1})
    assert isinstance(probe, Probe)
    assert [gate.check({gone.ticket_type_id: 1}) for _ in range(3)] == [Refusal("General", 0)] * 3
    # The database refused the probe again (the endpoint taught the gate anew): still sold out.
    gate.learn([gone], counted_at=clock.now)
    gate.probe_finished(probe)
    assert gate.check({gone.ticket_type_id: 1}) == Refusal("General", 0)


def test_a_probe_that_was_not_refused_clears_the_knowledge(gate, clock):
    gone = count(0)
    gate.learn([gone], counted_at=clock.now)
    clock.now += TRUST_SECONDS + 0.001
    probe = gate.check({gone.ticket_type_id: 1})
    gate.probe_finished(probe)  # a sale (a seat came back), or any other answer
    assert gate.check({gone.ticket_type_id: 1}) is None
    assert gate.is_empty()


def test_a_probe_that_never_answers_lets_another_through(gate, clock):
    gone = count(0)
    gate.learn([gone], counted_at=clock.now)
    clock.now += TRUST_SECONDS + 0.001
    assert isinstance(gate.check({gone.ticket_type_id: 1}), Probe)
    clock.now += PROBE_TIMEOUT_SECONDS + 0.001
    assert isinstance(gate.check({gone.ticket_type_id: 1}), Probe)


def test_requests_the_database_would_answer_otherwise_are_left_to_it(gate, clock):
    gone, other_event = count(0, min_per_order=2, max_per_order=4), count(0, event_id=uuid.uuid4())
    gate.learn([gone, other_event], counted_at=clock.now)
    assert gate.check({gone.ticket_type_id: 1}) is None  # below the minimum: "quantity out of range"
    assert gate.check({gone.ticket_type_id: 5}) is None  # above the maximum
    assert gate.check({gone.ticket_type_id: 2, other_event.ticket_type_id: 1}) is None  # mixed events
    assert gate.check({gone.ticket_type_id: 2}, event_id=uuid.uuid4()) is None  # another event named
    assert gate.check({gone.ticket_type_id: 2}, event_id=EVENT) == Refusal("General", 0)


def test_several_types_name_the_first_short_one_by_id_as_the_service_does(gate, clock):
    first, second = sorted([uuid.uuid4(), uuid.uuid4()])
    gate.learn([count(1, type_id=second, name="B"), count(5, type_id=first, name="A")], counted_at=clock.now)
    assert gate.check({second: 2, first: 1}) == Refusal("B", 1)
    assert gate.check({second: 2, first: 6}) == Refusal("A", 5)
    assert gate.check({second: 1, first: 5}) is None


def test_older_counts_never_replace_newer_ones_and_forgetting_an_event_clears_its_types(gate, clock):
    type_id = uuid.uuid4()
    gate.learn([count(2, type_id=type_id)], counted_at=clock.now)
    gate.learn([count(0, type_id=type_id)], counted_at=clock.now - 1)
    assert gate.check({type_id: 2}) is None
    gate.forget_event(EVENT)
    assert gate.is_empty()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"items": []}',
        b'{"items": [{"ticket_type_id": "nope", "quantity": 1}]}',
        b'{"items": [{"ticket_type_id": "%s", "quantity": "1"}]}' % str(uuid.uuid4()).encode(),
        b'{"items": [{"ticket_type_id": "%s", "quantity": 0}]}' % str(uuid.uuid4()).encode(),
        b'{"items": [{"ticket_type_id": "%s", "quantity": true}]}' % str(uuid.uuid4()).encode(),
        b'{"items": [{"ticket_type_id": "%s", "quantity": 1}], "event_id": 5}' % str(uuid.uuid4()).encode(),
    ],
)
def test_bodies_the_endpoint_must_answer_itself_are_not_read_as_orders(body):
    assert wanted_seats(body) is None


def test_an_order_body_is_read_as_seats_per_type():
    type_id, event_id = uuid.uuid4(), uuid.uuid4()
    body = {
        "items": [{"ticket_type_id": str(type_id), "quantity": 2}, {"ticket_type_id": str(type_id), "quantity": 1}],
        "email": "a@example.org",
        "event_id": str(event_id),
    }
    assert wanted_seats(json.dumps(body).encode()) == ({type_id: 3}, event_id)


def test_the_sold_out_answer_is_translated():
    english = json.loads(sold_out_body("en", "General", 0))
    arabic = json.loads(sold_out_body("ar", "General", 0))
    assert english["error"]["code"] == arabic["error"]["code"] == "sold_out"
    assert "General" in english["error"]["message"] and "General" in arabic["error"]["message"]
    assert english["error"]["message"] != arabic["error"]["message"]


def test_the_sold_out_answer_names_the_type_in_the_buyers_language():
    texts = (("de", "Stehplatz"), ("fr", "Debout"))
    german = json.loads(sold_out_body("de", "Standing", 0, texts, "en"))["error"]["message"]
    italian = json.loads(sold_out_body("it", "Standing", 0, texts, "en"))["error"]["message"]
    assert "Stehplatz" in german and "Standing" not in german
    assert "Standing" in italian  # no Italian name: the event's main language


def test_a_refusal_carries_the_names_the_database_gave(gate, clock):
    named = replace(count(0), name_texts=(("de", "Stehplatz"),), main_language="en")
    gate.learn([named], counted_at=clock.now)
    assert gate.check({named.ticket_type_id: 1}) == Refusal("General", 0, (("de", "Stehplatz"),), "en")

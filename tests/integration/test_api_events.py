from bilten.models import EventStatus
from tests.factories import make_event, make_organization


def test_public_catalogue_lists_published_events_and_hides_drafts(client, pg_session, clock):
    org = make_organization(pg_session, now=clock.now)
    shown = make_event(pg_session, organization=org, now=clock.now, title="Open Air", prices=(1500, 900))
    draft = make_event(pg_session, organization=org, now=clock.now, title="Hidden", status=EventStatus.DRAFT)
    listed = client.get("/api/v1/events").json()
    assert [e["title"] for e in listed] == ["Open Air"]
    assert listed[0]["lowest_price"] == 900 and listed[0]["currency"] == "EUR"
    detail = client.get(f"/api/v1/events/{shown.id}").json()
    assert [t["price"] for t in detail["ticket_types"]] == [1500, 900]
    assert detail["ticket_types"][0]["available"] == 100
    assert client.get(f"/api/v1/events/{draft.id}").json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/events/not-a-uuid").status_code == 422
    assert client.get("/api/v1/events", params={"q": "open"}).json()[0]["title"] == "Open Air"


def test_search_with_hidden_characters_finds_what_the_visible_text_finds(client, pg_session, clock):
    # PostgreSQL refuses a NUL in a query; a stranger's search carrying one must not answer 500.
    org = make_organization(pg_session, now=clock.now)
    make_event(pg_session, organization=org, now=clock.now, title="Open Air", city="Berlin")
    for params in ({"q": "open\x00"}, {"city": "ber\x00lin"}, {"q": "o\u202epen", "city": "\x00Berlin"}):
        answer = client.get("/api/v1/events", params=params)
        assert answer.status_code == 200, (params, answer.text)
        assert [e["title"] for e in answer.json()] == ["Open Air"], params
    assert client.get("/api/v1/events", params={"q": "\x00"}).json()[0]["title"] == "Open Air"

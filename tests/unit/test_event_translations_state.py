"""The event page, the listing and the editor with texts in several languages, without a browser:
a German reader gets the German title, switching to Italian shows the main language, and the
editor's language tabs save what the organizer typed per language."""

from __future__ import annotations

import pytest
from reflex.istate.data import RouterData
from sqlmodel import select

import bilten.bilten  # noqa: F401 - registers the routes, and so the pages' `event_id` vars
from bilten.models import Event, Membership, Role, TeamRole, TicketType
from bilten.services import accounts
from bilten.state.auth import SESSION_COOKIE, AuthState
from bilten.state.event import EventState
from bilten.state.event_editor import EventEditorState
from bilten.state.home import HomeState
from tests.factories import DEFAULT_PASSWORD, make_event, make_organization, make_user


async def run(state, handler: str, *args):  # noqa: ANN001, ANN201
    result = type(state).event_handlers[handler].fn(state, *args)
    return await result if hasattr(result, "__await__") else result


def open_page(root, path: str, *, language: str = "", cookie: str = "", **query: str) -> None:  # noqa: ANN001
    headers = {"accept-language": language} if language else {}
    if cookie:
        headers["cookie"] = cookie
    root.router = RouterData.from_router_data({"headers": headers, "pathname": path, "asPath": path, "query": query})


@pytest.fixture
def event(session, now):
    org = make_organization(session, now=now)
    event = make_event(session, organization=org, now=now, title="Harbour Lights")
    event.translations = {"title": {"de": "Hafenlichter"}, "description": {"de": "Boote und **Musik**"}}
    event.description = "Boats and **music**"
    stored_type = session.exec(select(TicketType).where(TicketType.event_id == event.id)).one()
    stored_type.translations = {"name": {"de": "Stehplatz"}}
    session.add_all([event, stored_type])
    session.commit()
    return event


@pytest.mark.anyio
async def test_a_german_reader_sees_german_texts_and_italian_falls_back_to_the_main_language(fresh_tab, event):
    open_page(fresh_tab, f"/events/{event.id}", language="de-DE,de;q=0.9", event_id=str(event.id))
    page = await fresh_tab.get_state(EventState)
    await run(page, "load")
    assert page.event.title == "Hafenlichter"
    assert "<strong>Musik</strong>" in page.description_html
    assert [t.name for t in page.ticket_types] == ["Stehplatz"]

    await run(await fresh_tab.get_state(AuthState), "choose_language", "it")  # the language switch
    assert page.event.title == "Harbour Lights"
    assert "<strong>music</strong>" in page.description_html
    assert [t.name for t in page.ticket_types] == ["Type 0"]


@pytest.mark.anyio
async def test_the_listing_shows_the_readers_language(fresh_tab, event):
    open_page(fresh_tab, "/", language="de")
    home = await fresh_tab.get_state(HomeState)
    await run(home, "load")
    assert [card.title for card in home.events] == ["Hafenlichter"]
    await run(await fresh_tab.get_state(AuthState), "choose_language", "fr")
    assert [card.title for card in home.events] == ["Harbour Lights"]


@pytest.mark.anyio
async def test_the_editor_saves_the_texts_of_each_language_tab(fresh_tab, session, now, event):
    owner = make_user(session, role=Role.ORGANIZER, now=now)
    session.add(Membership(organization_id=event.organization_id, user_id=owner.id, team_role=TeamRole.OWNER))
    session.commit()
    _, token = accounts.log_in_web(session, email=owner.email, password=DEFAULT_PASSWORD, now=now)
    path = f"/organizer/events/{event.id}/edit"
    open_page(fresh_tab, path, cookie=f"{SESSION_COOKIE}={token}", event_id=str(event.id))
    editor = await fresh_tab.get_state(EventEditorState)
    await run(editor, "load_edit")
    assert editor.ready and editor.main_language == "en"
    assert editor.translation_values["title__de"] == "Hafenlichter"
    assert editor.shown_translation == "ar"  # the first language that is not the main one
    await run(editor, "show_translation", "fr")
    assert editor.shown_translation == "fr"

    view = editor.event
    form = {
        "title": view.title,
        "description": view.description,
        "venue_name": view.venue_name,
        "venue_address": view.venue_address,
        "city": view.city,
        "timezone": view.timezone,
        "starts_at": view.starts_at,
        "ends_at": view.ends_at,
        "main_language": "en",
        "venue_notes": "Door B",
        **{
            f"{field}__{code}": ""
            for field in ("title", "description", "venue_notes")
            for code in ("ar", "de", "es", "fr", "it")
        },
        "title__de": "Hafenlichter am Pier",
        "title__fr": "Lumières du port",
        "venue_notes__fr": "Porte B",
        "description__de": "Boote und **Musik**",
    }
    await run(editor, "save_details", form)
    assert editor.details_error == ""
    session.expire_all()
    stored = session.get(Event, event.id)
    assert stored.venue_notes == "Door B"
    assert stored.translations == {
        "description": {"de": "Boote und **Musik**"},
        "title": {"de": "Hafenlichter am Pier", "fr": "Lumières du port"},
        "venue_notes": {"fr": "Porte B"},
    }

    await run(editor, "save_details", {**form, "title__xx": "?", "title__de": "x" * 201})
    assert "201" not in editor.details_error and "200" in editor.details_error  # the limit, translated
    session.expire_all()
    assert session.get(Event, event.id).translations["title"]["de"] == "Hafenlichter am Pier"

"""The organizer area's organizations: `/organizer/organizations/new` (found one),
`/organizer/organizations/[organization_id]/team` (its members, roles and invitations), and the
panel of one's organizations shown on `/organizer`."""

from __future__ import annotations

import reflex as rx

from bilten import routes
from bilten.components.forms import field
from bilten.components.layout import page_header, page_shell
from bilten.components.notice import error_text, forbidden_box, not_found_box
from bilten.pages.invoice_settings import legal_details_form
from bilten.state.auth import AuthState
from bilten.state.i18n import LocaleState
from bilten.state.team import ROLES, MyOrganizationsState, NewOrganizationState, TeamState


def _role_items() -> list[rx.Component]:
    return [rx.select.item(LocaleState.t[f"team.role.{role}"], value=role) for role in ROLES]


# -- the organizer page's panel ----------------------------------------------------------------


def organization_item(org) -> rx.Component:  # noqa: ANN001 - an ObjectVar of OrganizationView
    return rx.hstack(
        rx.text(org.name, weight="medium"),
        rx.badge(org.role_label, variant="soft"),
        rx.cond(
            org.is_owner,
            rx.link(
                rx.hstack(rx.icon("users", size=14), rx.text(LocaleState.t["team.manage_team"]), spacing="1"),
                href=org.team_url,
                class_name="team-link",
                size="2",
            ),
        ),
        rx.cond(
            org.is_owner,
            rx.link(LocaleState.t["webhooks.title"], href=org.webhooks_url, class_name="webhooks-link", size="2"),
        ),
        align="center",
        spacing="3",
        wrap="wrap",
        custom_attrs={"data-organization-id": org.id},
        class_name="my-organization",
    )


def organizations_panel() -> rx.Component:
    """The user's organizations with links to their teams, and "new organization"."""
    return rx.cond(
        AuthState.can_organize & ~AuthState.denied,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(LocaleState.t["team.my_organizations"], size="4", as_="h2"),
                    rx.link(
                        rx.button(rx.icon("plus", size=16), LocaleState.t["team.new_organization"], variant="soft"),
                        href=routes.NEW_ORGANIZATION,
                        id="new-organization-link",
                    ),
                    justify="between",
                    align="center",
                    width="100%",
                    wrap="wrap",
                ),
                rx.foreach(MyOrganizationsState.organizations, organization_item),
                spacing="3",
                width="100%",
            ),
            width="100%",
            margin_bottom="1.5rem",
            id="my-organizations",
            on_mount=MyOrganizationsState.load,
        ),
    )


# -- founding an organization ------------------------------------------------------------------


def new_organization_page() -> rx.Component:
    return page_shell(
        rx.center(
            rx.card(
                rx.form(
                    rx.vstack(
                        rx.heading(LocaleState.t["team.new_title"], size="7", as_="h1"),
                        rx.text(LocaleState.t["team.new_subtitle"], color_scheme="gray"),
                        error_text(NewOrganizationState.error, id="new-organization-error", width="100%"),
                        field(
                            LocaleState.t["team.organization_name"],
                            "name",
                            required=True,
                            max_length=200,
                            id="field-organization-name",
                        ),
                        rx.button(
                            LocaleState.t["team.create"],
                            type="submit",
                            size="3",
                            width="100%",
                            id="create-organization",
                        ),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=NewOrganizationState.create,
                    reset_on_submit=False,
                    id="new-organization-form",
                ),
                size="4",
                width="100%",
                max_width="28rem",
            ),
        ),
        page="new-organization",
        loaded=NewOrganizationState.loaded,
    )


# -- the team page -----------------------------------------------------------------------------


def member_row(member) -> rx.Component:  # noqa: ANN001 - an ObjectVar of MemberView
    return rx.table.row(
        rx.table.row_header_cell(rx.cond(member.full_name != "", member.full_name, "—")),
        rx.table.cell(member.email, class_name="member-email"),
        rx.table.cell(
            rx.select.root(
                rx.select.trigger(aria_label=LocaleState.t["team.col_role"], class_name="member-role"),
                rx.select.content(*_role_items()),
                value=member.role,
                on_change=lambda role: TeamState.change_role(member.user_id, role),
                size="1",
            ),
        ),
        rx.table.cell(rx.cond(member.events != "", member.events, "—"), class_name="member-events"),
        rx.table.cell(
            rx.button(
                rx.icon("user-minus", size=14),
                rx.cond(member.is_self, LocaleState.t["team.leave"], LocaleState.t["team.remove"]),
                on_click=TeamState.ask_remove(member.user_id),
                color_scheme="red",
                variant="soft",
                size="1",
                white_space="nowrap",
                class_name="remove-member",
            ),
        ),
        custom_attrs={"data-user-id": member.user_id, "data-role": member.role},
    )


def members_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                rx.table.column_header_cell(LocaleState.t["admin.col_name"]),
                rx.table.column_header_cell(LocaleState.t["admin.col_email"]),
                rx.table.column_header_cell(LocaleState.t["team.col_role"]),
                rx.table.column_header_cell(LocaleState.t["team.col_events"]),
                rx.table.column_header_cell(rx.el.span(LocaleState.t["office.col_actions"], class_name="rt-sr-only")),
            )
        ),
        rx.table.body(rx.foreach(TeamState.members, member_row)),
        width="100%",
        variant="surface",
        id="members-table",
    )


def event_checkbox(choice) -> rx.Component:  # noqa: ANN001 - an ObjectVar of EventChoiceView
    checkbox_id = "invite-event-" + choice.id.to(str)  # Radix's checkbox is a <button>: named through `for`
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=choice.selected,
                on_change=lambda checked: TeamState.toggle_invite_event(choice.id, checked),
                custom_attrs={"data-event-id": choice.id},
                class_name="invite-event",
                id=checkbox_id,
            ),
            rx.text(choice.title, size="2", weight="medium"),
            rx.text(choice.when, size="1", color_scheme="gray"),
            align="center",
            spacing="2",
        ),
        html_for=checkbox_id,
    )


def invite_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            error_text(TeamState.invite_error, id="invite-error", width="100%"),
            rx.flex(
                rx.box(
                    field(
                        LocaleState.t["login.email"],
                        "email",
                        type_="email",
                        required=True,
                        auto_complete="off",
                        id="field-invite-email",
                        dir="ltr",
                    ),
                    flex="2",
                    min_width="14rem",
                ),
                rx.vstack(
                    rx.el.label(
                        rx.text(LocaleState.t["team.col_role"], size="2", weight="medium"),
                        html_for="invite-role",
                    ),
                    rx.select.root(
                        rx.select.trigger(id="invite-role", width="100%"),
                        rx.select.content(*_role_items()),
                        value=TeamState.invite_role,
                        on_change=TeamState.set_invite_role,
                        size="3",
                    ),
                    spacing="1",
                    flex="1",
                    min_width="10rem",
                ),
                rx.button(
                    rx.icon("send", size=16),
                    LocaleState.t["team.invite"],
                    type="submit",
                    size="3",
                    id="invite-submit",
                ),
                spacing="3",
                align="end",
                wrap="wrap",
                width="100%",
            ),
            rx.text(LocaleState.t["team.role_hint." + TeamState.invite_role], size="2", color_scheme="gray"),
            rx.cond(
                TeamState.invite_role == "staff",
                rx.vstack(
                    rx.text(LocaleState.t["team.staff_events"], size="2", weight="medium"),
                    rx.cond(
                        TeamState.has_events,
                        rx.foreach(TeamState.event_choices, event_checkbox),
                        rx.text(LocaleState.t["team.no_events"], size="2", color_scheme="gray"),
                    ),
                    spacing="2",
                    id="invite-events",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=TeamState.invite,
        reset_on_submit=False,
        id="invite-form",
        width="100%",
    )


def invitation_row(invitation) -> rx.Component:  # noqa: ANN001 - an ObjectVar of InvitationView
    return rx.table.row(
        rx.table.row_header_cell(invitation.email, class_name="invitation-email"),
        rx.table.cell(invitation.role_label),
        rx.table.cell(rx.cond(invitation.events != "", invitation.events, "—")),
        rx.table.cell(
            rx.cond(
                invitation.expired,
                rx.badge(LocaleState.t["team.expired"], color_scheme="amber", variant="soft"),
                rx.text(invitation.expires, size="2"),
            )
        ),
        rx.table.cell(
            rx.button(
                rx.icon("x", size=14),
                LocaleState.t["team.revoke"],
                on_click=TeamState.revoke(invitation.id),
                color_scheme="red",
                variant="soft",
                size="1",
                white_space="nowrap",
                class_name="revoke-invitation",
            ),
        ),
        custom_attrs={"data-invitation-id": invitation.id},
    )


def invitations_table() -> rx.Component:
    return rx.cond(
        TeamState.has_invitations,
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell(LocaleState.t["admin.col_email"]),
                    rx.table.column_header_cell(LocaleState.t["team.col_role"]),
                    rx.table.column_header_cell(LocaleState.t["team.col_events"]),
                    rx.table.column_header_cell(LocaleState.t["team.col_expires"]),
                    rx.table.column_header_cell(
                        rx.el.span(LocaleState.t["office.col_actions"], class_name="rt-sr-only")
                    ),
                )
            ),
            rx.table.body(rx.foreach(TeamState.invitations, invitation_row)),
            width="100%",
            variant="surface",
            id="invitations-table",
        ),
        rx.text(LocaleState.t["team.no_invitations"], color_scheme="gray", id="no-invitations"),
    )


def remove_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(LocaleState.t["team.confirm_remove_title"]),
            rx.alert_dialog.description(TeamState.confirm_text, size="2"),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button(LocaleState.t["team.keep_member"], variant="soft", color_scheme="gray", id="keep-member")
                ),
                rx.alert_dialog.action(
                    rx.button(
                        LocaleState.t["team.remove"],
                        on_click=TeamState.confirm_remove,
                        color_scheme="red",
                        id="confirm-remove",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            id="remove-dialog",
            dir=LocaleState.dir,
        ),
        open=TeamState.confirm_open,
        on_open_change=TeamState.set_confirm_open,
    )


def staff_event_checkbox(choice) -> rx.Component:  # noqa: ANN001 - an ObjectVar of EventChoiceView
    checkbox_id = "staff-event-" + choice.id.to(str)  # Radix's checkbox is a <button>: named through `for`
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                checked=choice.selected,
                on_change=lambda checked: TeamState.toggle_staff_event(choice.id, checked),
                custom_attrs={"data-event-id": choice.id},
                class_name="staff-event-choice",
                id=checkbox_id,
            ),
            rx.text(choice.title, size="2", weight="medium"),
            rx.text(choice.when, size="1", color_scheme="gray"),
            align="center",
            spacing="2",
        ),
        html_for=checkbox_id,
    )


def staff_events_dialog() -> rx.Component:
    """Opened by choosing "staff" for a member: the events they will scan at, then Save or Cancel."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(LocaleState.t["team.staff_dialog_title"]),
            rx.dialog.description(TeamState.staff_dialog_text, size="2"),
            rx.vstack(
                error_text(TeamState.staff_dialog_error, id="staff-events-error", width="100%"),
                rx.text(LocaleState.t["team.staff_events"], size="2", weight="medium"),
                rx.cond(
                    TeamState.has_events,
                    rx.foreach(TeamState.staff_event_choices, staff_event_checkbox),
                    rx.text(LocaleState.t["team.no_events"], size="2", color_scheme="gray"),
                ),
                spacing="2",
                margin_top="1rem",
                id="staff-events",
            ),
            rx.flex(
                rx.button(
                    LocaleState.t["team.cancel_staff_events"],
                    on_click=TeamState.set_staff_dialog_open(False),
                    variant="soft",
                    color_scheme="gray",
                    id="cancel-staff-events",
                ),
                rx.button(
                    LocaleState.t["team.save_staff_events"],
                    on_click=TeamState.save_staff_events,
                    id="save-staff-events",
                ),
                spacing="3",
                justify="end",
                margin_top="1rem",
            ),
            id="staff-events-dialog",
            dir=LocaleState.dir,
        ),
        open=TeamState.staff_dialog_open,
        on_open_change=TeamState.set_staff_dialog_open,
    )


def team() -> rx.Component:
    return rx.vstack(
        page_header(TeamState.organization_name, LocaleState.t["team.subtitle"]),
        rx.heading(LocaleState.t["team.members"], size="5", as_="h2"),
        members_table(),
        rx.heading(LocaleState.t["team.invite_title"], size="5", as_="h2", margin_top="1rem"),
        invite_form(),
        rx.heading(LocaleState.t["team.pending"], size="5", as_="h2", margin_top="1rem"),
        invitations_table(),
        legal_details_form(),
        remove_dialog(),
        staff_events_dialog(),
        spacing="4",
        width="100%",
    )


def team_page() -> rx.Component:
    return page_shell(
        rx.cond(
            TeamState.loaded,
            rx.cond(
                AuthState.denied,
                forbidden_box(),
                rx.cond(TeamState.not_found, not_found_box(), rx.cond(TeamState.ready, team())),
            ),
            rx.center(rx.spinner(size="3"), padding="3rem"),
        ),
        page="team",
        loaded=TeamState.loaded,
    )

"""Pieces of the live dashboards: figure cards and the sales-over-time chart (Recharts)."""

from __future__ import annotations

import reflex as rx


def figure(label: rx.Var[str], value: rx.Var, figure_id: str, hint: rx.Var[str] | None = None) -> rx.Component:
    """One headline number with its label (and an optional hint under it)."""
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray", weight="medium"),
            rx.text(value, size="6", weight="bold", id=figure_id),
            *([rx.text(hint, size="1", color_scheme="gray")] if hint is not None else []),
            spacing="1",
        ),
    )


def sales_chart(
    data: rx.Var[list],
    *,
    title: rx.Var[str],
    series_name: rx.Var[str],
    empty_text: rx.Var[str],
    rtl: rx.Var[bool],
    chart_id: str,
) -> rx.Component:
    """Tickets sold per hour or day as bars; time runs right to left in right-to-left languages."""
    return rx.card(
        rx.vstack(
            rx.text(title, size="2", color_scheme="gray", weight="medium"),
            rx.cond(
                data.length() > 0,
                rx.recharts.bar_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                    rx.recharts.x_axis(data_key="label", reversed=rtl, tick={"fontSize": 12}, min_tick_gap=16),
                    rx.recharts.y_axis(
                        allow_decimals=False,
                        orientation=rx.cond(rtl, "right", "left"),
                        width=40,
                        tick={"fontSize": 12},
                    ),
                    rx.recharts.graphing_tooltip(),
                    rx.recharts.bar(
                        data_key="tickets",
                        name=series_name,
                        fill="var(--accent-9)",
                        is_animation_active=False,  # live updates would replay the animation
                        max_bar_size=40,
                    ),
                    data=data,
                    width="100%",
                    height=240,
                ),
                rx.center(rx.text(empty_text, color_scheme="gray", size="2"), height="6rem"),
            ),
            spacing="3",
            width="100%",
        ),
        id=chart_id,
        width="100%",
    )

"""Logging out resets every state that holds a person's data: each registered one must be a state
(a dataclass registered by mistake made logout raise and never leave the page)."""

from __future__ import annotations

import pytest
import reflex as rx

import bilten.bilten  # noqa: F401 - imports every page's state
from bilten.state.auth import _PRIVATE_STATES, AuthState
from bilten.state.order import OrderState


@pytest.mark.anyio
async def test_every_private_state_is_a_state_and_logout_resets_them(fresh_tab):
    assert OrderState in _PRIVATE_STATES
    assert all(isinstance(cls, type) and issubclass(cls, rx.State) for cls in _PRIVATE_STATES)
    auth = await fresh_tab.get_state(AuthState)
    await auth._forget_everything()

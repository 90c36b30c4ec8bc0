"""Reflex UI state: one flat `rx.State` subclass per page or feature, no business rules."""

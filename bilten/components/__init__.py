"""Reusable UI pieces: they render state vars and fire events, never touch the database or services."""

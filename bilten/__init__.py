"""Bilten: open-source event ticketing."""

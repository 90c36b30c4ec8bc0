"""The rules of Bilten: plain functions over a database session. Nothing here imports Reflex."""

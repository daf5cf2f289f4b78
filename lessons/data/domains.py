"""Procedural data: see lessons.data."""

__all__: list[str] = []

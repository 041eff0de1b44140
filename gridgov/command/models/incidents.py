"""Emergencies (突发事件) and their timeline; hotspots found for root-cause work."""

__all__: list[str] = []

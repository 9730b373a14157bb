"""Folium map builders: pure functions from features to a ``folium.Map`` (see the maps issue)."""

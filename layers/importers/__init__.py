"""Importers of official data: municipalities, metro zones, rivers."""

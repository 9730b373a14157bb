"""Web pages in Spanish (es-MX) for planners; they call the same API with the same tokens."""

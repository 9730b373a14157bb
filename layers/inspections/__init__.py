"""Field inspections: capture, annotation, photos, review."""

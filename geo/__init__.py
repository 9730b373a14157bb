"""Pure geometry and domain rules for Linde: no database, no HTTP, no maps."""

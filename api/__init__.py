"""The FastAPI application of Linde: routes per resource, auth, error mapping."""

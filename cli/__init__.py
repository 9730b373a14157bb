"""The ``linde`` command: a thin layer over the functions the API uses."""

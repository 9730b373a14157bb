"""Use cases that both front doors (``api/`` and ``cli/``) call: each reads or writes
through ``layers/`` and builds with ``maps/``, so neither front door holds the logic."""

"""Where state that every worker process must share lives: rate-limit windows.

A limit kept in each process's memory is multiplied by the number of processes
(and of machines) a client's requests are spread over. So the windows of every
limit go through one ``limits`` storage, chosen here once per process:

* ``LINDE_REDIS_URL`` set (``redis://host:6379/0``): ``limits``' Redis storage.
  Every worker on every machine counts in the same window; a limit is the limit.
* unset (the default; the embedded install needs no Redis): each process's memory.
  With ``linde serve --workers N`` an address gets at most N times a limit, and
  ``linde serve`` says so when it starts.

Anything rate-limited (``api.throttle`` today, sign-in throttling and sessions
tomorrow) takes its storage from :func:`limits_storage` and a key prefix of its own,
and builds its ``limits`` strategy on it; nothing else needs to know which it is.
"""

from __future__ import annotations

from limits.storage import MemoryStorage, Storage, storage_from_string

from layers.settings import Settings

#: Keys of Linde's windows in a shared Redis start with this (then the limit's own name).
KEY_PREFIX = "linde"


def limits_storage(settings: Settings, prefix: str = KEY_PREFIX) -> Storage:
    """The storage of rate-limit windows: Redis when configured, else this process's memory.

    Raises:
        ValueError: ``LINDE_REDIS_URL`` is not a ``redis://``/``rediss://`` URL.
    """
    if not settings.redis_url:
        return MemoryStorage()
    if not settings.redis_url.startswith(("redis://", "rediss://", "redis+unix://")):
        raise ValueError(
            f"LINDE_REDIS_URL must start with redis://, rediss:// or redis+unix://, "
            f"not {settings.redis_url.split(':', 1)[0]}://"
        )
    storage = storage_from_string(settings.redis_url, key_prefix=prefix)
    assert isinstance(storage, Storage)  # a redis:// URL names the synchronous storage
    return storage


def is_shared(storage: Storage) -> bool:
    """Whether ``storage`` is seen by every process (not one process's memory)."""
    return not isinstance(storage, MemoryStorage)

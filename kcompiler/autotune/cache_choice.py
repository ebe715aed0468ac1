"""Which cache a ``Tuner`` given none uses: the local SQLite file, or a Redis server in front of
it (``$KCOMPILER_CACHE_URL``). Apart from the two backends, so that each of them needs only
the cache records (cache.py) and the Redis one can build on the SQLite one."""

from __future__ import annotations

from pathlib import Path

from kcompiler import settings
from kcompiler.autotune.cache import CacheBackend, SQLiteCache, default_cache_path
from kcompiler.autotune.redis_cache import RedisCache

_DEFAULT_CACHES: dict[Path, SQLiteCache] = {}
_SHARED_CACHES: dict[tuple[str, Path], CacheBackend] = {}


def default_cache() -> CacheBackend:
    """The cache a `Tuner` uses when given none, one object per setting (read at call time).

    ``$KCOMPILER_CACHE_URL`` set (``redis://host:6379/0``, ``rediss://...``,
    ``unix:///path.sock``): a `RedisCache` on that server, writing through to and falling back
    on the local SQLite file. Unset or empty: the local SQLite file (``default_cache_path``).
    """
    path = default_cache_path()
    if path not in _DEFAULT_CACHES:
        _DEFAULT_CACHES[path] = SQLiteCache(path)
    local = _DEFAULT_CACHES[path]
    url = settings.current().cache_url  # validated there: a scheme in SHARED_SCHEMES
    if not url:
        return local
    if (url, path) not in _SHARED_CACHES:
        _SHARED_CACHES[(url, path)] = RedisCache(url, local=local)
    return _SHARED_CACHES[(url, path)]

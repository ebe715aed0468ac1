"""Redis backend of the tuning cache: one server shared by every process and machine that sets
``KCOMPILER_CACHE_URL``, so a kernel tuned once on one machine is served to all the others.

Layout (``key`` is ``cache.make_key``'s digest, which covers the kernel's source and IR hash,
its specialization, the device name and the kcompiler/torch/triton versions)::

    kcompiler:autotune:v1:best:<key>     string  JSON {config, time_ms, effort, created}
    kcompiler:autotune:v1:results:<key>  hash    field: config JSON -> {time_ms, error, created}

``HSET`` on the config field gives the same one-entry-per-(key, config), last-one-wins rule
as the SQLite table's primary key; ``SET`` replaces the best as SQLite's INSERT OR REPLACE.

Every write also goes to a local `CacheBackend` (the SQLite file) first, so what this process
measured survives the server. The first Redis error of any kind (server down at start, gone
mid-tune, timeout, auth, a missing ``redis`` package) logs exactly one warning on the
``kcompiler.autotune`` logger and turns the server off for the rest of this object's life:
from then on reads and writes use only the local backend. No Redis error leaves a method.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from kcompiler.autotune.cache import BestEntry, CacheBackend, Result, SQLiteCache
from kcompiler.config import Config

log = logging.getLogger("kcompiler.autotune")

T = TypeVar("T")

KEY_PREFIX = "kcompiler:autotune:v1"


def redacted(url: str) -> str:
    """``url`` with its password (user info or ``?password=``) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
        query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query)
        if (netloc, query) == (parts.netloc, parts.query):
            return url
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:  # unparsable: show nothing that might be a secret
        return "<unparsable URL>"


def best_key(key: str) -> str:
    return f"{KEY_PREFIX}:best:{key}"


def results_key(key: str) -> str:
    return f"{KEY_PREFIX}:results:{key}"


class RedisCache(CacheBackend):
    """Shared tuning cache on a Redis server, writing through to and falling back on ``local``.

    ``url``: anything ``redis.Redis.from_url`` takes (``redis://host:6379/0``,
    ``rediss://...``, ``unix:///run/redis.sock``). ``timeout_s`` bounds connecting and each
    command, so an unreachable server costs at most about twice that once per process.
    ``local`` defaults to a `SQLiteCache` at the default path.
    """

    def __init__(
        self, url: str, *, local: CacheBackend | None = None, timeout_s: float = 2.0
    ) -> None:
        self.url = url
        self.local = local if local is not None else SQLiteCache()
        self.timeout_s = timeout_s
        self.down = False  # set by the first Redis error; never cleared
        self._client: Any = None
        self._lock = threading.Lock()

    # -- connection ----------------------------------------------------------------------
    def _connect(self) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # One immediate retry: it reconnects a pooled connection the server closed (a
        # restart, an idle timeout); a server that is really gone fails again at once.
        return redis.Redis.from_url(
            self.url,
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            retry=Retry(NoBackoff(), 1),
        )

    def _give_up(self, what: str, err: BaseException) -> None:
        self.down = True
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # the connection is already broken; nothing to release
                pass
        hint = " (pip install 'kcompiler[redis]')" if isinstance(err, ImportError) else ""
        log.warning(
            "autotune cache %s unusable (%s: %s: %s)%s; using the local cache %r for the rest "
            "of this process",
            redacted(self.url),
            what,
            type(err).__name__,
            err,
            hint,
            self.local,
        )

    def _remote(self, what: str, op: Callable[[Any], T], default: T) -> T:
        """``op(client)``, or ``default`` once the server has failed (now or earlier)."""
        with self._lock:
            if self.down:
                return default
            try:
                if self._client is None:
                    self._client = self._connect()
                return op(self._client)
            except Exception as e:  # RedisError, ImportError, OSError/ValueError (a bad URL)
                self._give_up(what, e)
            return default

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                pass
        self.local.close()

    # -- API -----------------------------------------------------------------------------
    def get_best(self, key: str) -> BestEntry | None:
        raw = self._remote("get_best", lambda r: r.get(best_key(key)), None)
        entry = decode_best(raw) if raw is not None else None
        return entry if entry is not None else self.local.get_best(key)

    def put_best(self, key: str, config: Config, time_ms: float, effort: str = "") -> None:
        self.local.put_best(key, config, time_ms, effort)
        value = json.dumps(
            {
                "config": config.to_json(),
                "time_ms": time_ms,
                "effort": effort,
                "created": time.time(),
            }
        )
        self._remote("put_best", lambda r: r.set(best_key(key), value), None)

    def record(
        self, key: str, config: Config, time_ms: float | None, error: str | None = None
    ) -> None:
        self.local.record(key, config, time_ms, error)
        value = json.dumps({"time_ms": time_ms, "error": error, "created": time.time()})
        self._remote("record", lambda r: r.hset(results_key(key), config.to_json(), value), None)

    def results_for(self, key: str) -> list[Result]:
        """The server's results and the local ones (a local entry wins for the same config:
        it was measured on this machine), oldest first."""
        raw = self._remote("results_for", lambda r: r.hgetall(results_key(key)), {})
        merged: dict[Config, Result] = {}
        for field, value in raw.items():
            result = decode_result(field, value)
            if result is not None:
                merged[result.config] = result
        for result in self.local.results_for(key):
            merged[result.config] = result
        return sorted(merged.values(), key=lambda r: r.created)

    def __repr__(self) -> str:
        return f"RedisCache({redacted(self.url)!r}{', down' if self.down else ''}, local={self.local!r})"


def decode_best(raw: bytes | str) -> BestEntry | None:
    """A stored best entry, or None for one this kcompiler cannot read."""
    try:
        d = json.loads(raw)
        return BestEntry(
            Config.from_json(d["config"]),
            float(d["time_ms"]),
            str(d["effort"]),
            float(d["created"]),
        )
    except (TypeError, ValueError, KeyError):  # another schema, another kcompiler's fields
        return None


def decode_result(field: bytes | str, value: bytes | str) -> Result | None:
    """One stored measurement, or None for one this kcompiler cannot read."""
    try:
        config = Config.from_json(field.decode() if isinstance(field, bytes) else field)
        d = json.loads(value)
        t = d["time_ms"]
        return Result(config, None if t is None else float(t), d["error"], float(d["created"]))
    except (TypeError, ValueError, KeyError):
        return None

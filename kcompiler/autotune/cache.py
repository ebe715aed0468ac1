"""On-disk cache of autotuning results, so a kernel is tuned once per (source, shapes, device,
versions) and an interrupted search resumes where it stopped.

Which backend the tuner uses is chosen by ``cache_choice.default_cache``: the local SQLite file, or, with
``$KCOMPILER_CACHE_URL`` set to a ``redis://`` URL, a Redis server shared by processes and
machines (``redis_cache.RedisCache``) that falls back to the local file when it is unreachable.

Two tables: ``results`` holds every measured config (time or error) and ``best`` the winner
per key. SQLite in WAL mode with a busy timeout lets several processes (pytest-xdist
workers, a multi-GPU job) share one file. The cache must never be why a kernel fails: a
corrupted file is moved aside and rebuilt, and a database locked beyond the timeout turns
the cache off for this process with one warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from kcompiler import settings
from kcompiler.config import Config

log = logging.getLogger("kcompiler.autotune")

T = TypeVar("T")

CACHE_DIR_ENV = "KCOMPILER_CACHE_DIR"
CACHE_URL_ENV = "KCOMPILER_CACHE_URL"
SHARED_SCHEMES = settings.CACHE_URL_SCHEMES  # URL schemes of a shared (Redis) cache
CACHE_FILE = "autotune.sqlite"
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT NOT NULL,
    config TEXT NOT NULL,
    time_ms REAL,            -- NULL when the config failed
    error TEXT,              -- why it failed (compile error, timeout, crash, wrong result)
    created REAL NOT NULL,
    PRIMARY KEY (key, config)
);
CREATE TABLE IF NOT EXISTS best (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    time_ms REAL NOT NULL,
    effort TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def default_cache_dir() -> Path:
    """``$KCOMPILER_CACHE_DIR``, else ``$XDG_CACHE_HOME/kcompiler``, else ``~/.cache/kcompiler``."""
    chosen = settings.current()
    if chosen.cache_dir:
        return Path(chosen.cache_dir)
    base = chosen.xdg_cache_home or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kcompiler"


def default_cache_path() -> Path:
    return default_cache_dir() / CACHE_FILE


def library_versions() -> dict[str, str]:
    """Versions that change generated code or timings; part of every cache key.

    Read from package metadata, so building a key never imports torch or triton.
    """
    out = {}
    for dist in ("kcompiler", "torch", "triton"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = source_tree_version() if dist == "kcompiler" else "absent"
    return out


def source_tree_version() -> str:
    """kcompiler's version when it runs from a source tree on ``sys.path`` without being
    installed (a GPU machine given the tree): the ``version`` of the tree's pyproject.toml,
    the string an install of that tree would report; "absent" without one."""
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        return "absent"
    path = Path(__file__).resolve().parents[2] / "pyproject.toml"
    try:
        project = tomllib.loads(path.read_text()).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return "absent"
    return str(project.get("version", "absent")) if project.get("name") == "kcompiler" else "absent"


def make_key(
    kernel_source_hash: str,
    spec_key: Any,
    device_name: str,
    versions: Mapping[str, str] | str | None = None,
) -> str:
    """A stable hex digest of everything a tuned config depends on.

    ``spec_key`` is the runtime's specialization key (dtypes, static shapes, ...); anything
    JSON can't encode is keyed by its ``repr``. ``versions`` defaults to ``library_versions()``.
    """
    payload = {
        "source": kernel_source_hash,
        "spec": spec_key,
        "device": device_name,
        "versions": library_versions() if versions is None else versions,
    }
    text = json.dumps(payload, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Result:
    """One measured config: ``time_ms`` is None when it failed, with ``error`` saying why."""

    config: Config
    time_ms: float | None
    error: str | None
    created: float


@dataclass(frozen=True)
class BestEntry:
    config: Config
    time_ms: float
    effort: str
    created: float


class CacheBackend(ABC):
    """Where tuning results live: `SQLiteCache` (local file), `redis_cache.RedisCache`
    (shared server), `NullCache`.

    The contract the tuner relies on: ``record`` keeps one entry per (key, config), a later
    one replacing it; ``results_for`` returns them oldest first; ``put_best`` replaces the
    key's best. No method raises for a storage failure: a backend degrades to caching less.
    """

    @abstractmethod
    def get_best(self, key: str) -> BestEntry | None: ...

    @abstractmethod
    def put_best(self, key: str, config: Config, time_ms: float, effort: str = "") -> None: ...

    @abstractmethod
    def record(
        self, key: str, config: Config, time_ms: float | None, error: str | None = None
    ) -> None:
        """Store one measurement; ``time_ms=None`` marks the config failed for this key."""

    @abstractmethod
    def results_for(self, key: str) -> list[Result]: ...

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections; the backend may be used again afterwards."""


class NullCache(CacheBackend):
    """Caches nothing (``Tuner(cache=NullCache())``), e.g. for benchmarks of the tuner itself."""

    def get_best(self, key: str) -> BestEntry | None:
        return None

    def put_best(self, key: str, config: Config, time_ms: float, effort: str = "") -> None:
        pass

    def record(
        self, key: str, config: Config, time_ms: float | None, error: str | None = None
    ) -> None:
        pass

    def results_for(self, key: str) -> list[Result]:
        return []


class SQLiteCache(CacheBackend):
    """SQLite file cache; every failure mode degrades to "no cache", never to a crash."""

    def __init__(self, path: str | os.PathLike[str] | None = None, timeout_s: float = 10.0):
        self.path = Path(path) if path is not None else default_cache_path()
        self.timeout_s = timeout_s
        self.disabled = False
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- connection ----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: each statement commits on its own, so a Ctrl-C between two
        # records loses nothing already written.
        conn = sqlite3.connect(
            self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            status = conn.execute("PRAGMA quick_check").fetchone()
            if status is None or status[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {status}")
            if conn.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                # WAL is a property of the file: set once, at creation. Setting it on every
                # open can fail with "locked" while another process closes the database.
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _quarantine(self, err: Exception) -> None:
        """Move a corrupted file aside (kept for inspection) so a fresh one can be built."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}-{os.getpid()}")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            pass  # another process already moved it
        for suffix in ("-wal", "-shm"):
            try:
                os.remove(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
        log.warning(
            "autotune cache %s is corrupted (%s); moved it to %s and started a new one",
            self.path,
            err,
            aside.name,
        )

    def _disable(self, what: str, err: Exception) -> None:
        log.warning(
            "autotune cache %s unusable (%s: %s); continuing without caching", self.path, what, err
        )
        self.disabled = True
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None

    def _run(self, what: str, op: Callable[[sqlite3.Connection], T], default: T) -> T:
        """Run ``op`` on the connection with the degrade-not-crash policy."""
        with self._lock:
            deadline = time.monotonic() + self.timeout_s
            pause = 0.005
            rebuilt = False
            while not self.disabled:
                try:
                    if self._conn is None:
                        self._conn = self._connect()
                    return op(self._conn)
                except sqlite3.OperationalError as e:
                    # SQLite skips the busy handler in a few WAL races (a database being
                    # opened while another process closes it): retry those until the timeout.
                    busy = "locked" in str(e) or "busy" in str(e)
                    if busy and time.monotonic() + pause < deadline:
                        time.sleep(pause)
                        pause = min(pause * 2, 0.25)
                        continue
                    self._disable(what, e)  # locked past the timeout, disk full, permissions
                except sqlite3.DatabaseError as e:  # not a database / malformed
                    if rebuilt:
                        self._disable(what, e)
                    else:
                        self._quarantine(e)
                        rebuilt = True
                except OSError as e:  # cache dir not creatable, file not movable
                    self._disable(what, e)
            return default

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- API -----------------------------------------------------------------------------
    def get_best(self, key: str) -> BestEntry | None:
        def op(conn: sqlite3.Connection) -> BestEntry | None:
            row = conn.execute(
                "SELECT config, time_ms, effort, created FROM best WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            try:
                return BestEntry(Config.from_json(row[0]), row[1], row[2], row[3])
            except (TypeError, ValueError):  # written by a kcompiler with other fields
                return None

        return self._run("get_best", op, None)

    def put_best(self, key: str, config: Config, time_ms: float, effort: str = "") -> None:
        self._run(
            "put_best",
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO best (key, config, time_ms, effort, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, config.to_json(), time_ms, effort, time.time()),
            ),
            None,
        )

    def record(
        self, key: str, config: Config, time_ms: float | None, error: str | None = None
    ) -> None:
        self._run(
            "record",
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO results (key, config, time_ms, error, created)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, config.to_json(), time_ms, error, time.time()),
            ),
            None,
        )

    def results_for(self, key: str) -> list[Result]:
        def op(conn: sqlite3.Connection) -> list[Result]:
            rows = conn.execute(
                "SELECT config, time_ms, error, created FROM results WHERE key = ?"
                " ORDER BY created",
                (key,),
            ).fetchall()
            out = []
            for config, time_ms, error, created in rows:
                try:
                    out.append(Result(Config.from_json(config), time_ms, error, created))
                except (TypeError, ValueError):  # written by a kcompiler with other fields
                    continue
            return out

        return self._run("results_for", op, [])

    def __repr__(self) -> str:
        return f"SQLiteCache({str(self.path)!r}{', disabled' if self.disabled else ''})"

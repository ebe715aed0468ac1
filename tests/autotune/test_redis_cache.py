"""The shared Redis tuning cache against a real ``redis-server`` on 127.0.0.1: the same
contract as the SQLite cache, two processes sharing one tuning, and the fallback to the local
file when the server is down at start or dies mid-tune.

The server is started per test on a free port (no persistence, in a tmp dir) and stopped at
the end. Without ``redis-server`` or the ``redis`` package the tests skip, except under
``$CI`` (.ci/run installs both), where they fail.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from autotune_fakes import FakeTarget, small_cost, small_space

from kcompiler.autotune import (
    CacheBackend,
    NullCache,
    RedisCache,
    SQLiteCache,
    Tuner,
    default_cache,
)
from kcompiler.autotune.redis_cache import best_key, results_key
from kcompiler.config import Config

A = Config(block_sizes=[64], num_warps=4)
B = Config(block_sizes=[128], num_warps=8)
HERE = Path(__file__).parent
WARNING = "using the local cache"


def missing(message: str) -> None:
    """Skip a local run without the tool; fail CI (``$CI`` set), which installs it."""
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the Redis cache tests (.ci/run installs it)")
    pytest.skip(message)


def require_client() -> None:
    try:
        import redis  # noqa: F401
    except ImportError:
        missing("the redis client package is not installed (pip install -e '.[redis]')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    """A private redis-server on 127.0.0.1:<free port>, nothing persisted."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server not found (Debian: apt-get install redis-server)")
    require_client()
    import redis

    workdir = tmp_path / "redis"
    workdir.mkdir()
    port = free_port()
    log_file = open(workdir / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    srv = Server(proc, f"redis://127.0.0.1:{port}/0")
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"redis-server did not start: {(workdir / 'server.log').read_text()}"
                    )
                time.sleep(0.02)
        client.close()
        yield srv
    finally:
        srv.stop()
        log_file.close()


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if WARNING in r.getMessage()]


# -- the contract both backends keep ---------------------------------------------------

BACKENDS = ["sqlite", "redis"]


@pytest.fixture(params=BACKENDS)
def open_cache(request, tmp_path):
    """A factory of caches over one store. The Redis ones have no local backend, so every
    read is served by the server (a fresh object per call: nothing is kept in memory)."""
    opened: list[CacheBackend] = []
    if request.param == "sqlite":

        def make() -> CacheBackend:
            opened.append(SQLiteCache(tmp_path / "autotune.sqlite"))
            return opened[-1]

    else:
        srv = request.getfixturevalue("server")

        def make() -> CacheBackend:
            opened.append(RedisCache(srv.url, local=NullCache(), timeout_s=1.0))
            return opened[-1]

    yield make
    for c in opened:
        assert not getattr(c, "down", False), f"{c!r} lost its server"
        c.close()


def test_round_trip(open_cache):
    cache = open_cache()
    cache.record("k", A, 1.5)
    cache.record("k", B, None, "compile timed out after 15s")
    cache.record("other", B, 0.5)
    cache.put_best("k", A, 1.5, "quick")
    cache.close()

    reopened = open_cache()
    results = {r.config: r for r in reopened.results_for("k")}
    assert set(results) == {A, B}
    assert results[A].time_ms == 1.5 and results[A].error is None
    assert results[B].time_ms is None and "timed out" in results[B].error
    best = reopened.get_best("k")
    assert (best.config, best.time_ms, best.effort) == (A, 1.5, "quick")
    assert reopened.get_best("other") is None
    assert [(r.config, r.time_ms) for r in reopened.results_for("other")] == [(B, 0.5)]
    assert reopened.get_best("never") is None and reopened.results_for("never") == []


def test_a_later_record_or_best_replaces_the_earlier(open_cache):
    cache = open_cache()
    cache.record("k", A, 2.0)
    cache.record("k", A, None, "wrong result")  # a re-measurement of the same config
    cache.put_best("k", A, 2.0, "quick")
    cache.put_best("k", B, 1.0, "full")
    (only,) = open_cache().results_for("k")
    assert (only.config, only.time_ms, only.error) == (A, None, "wrong result")
    best = open_cache().get_best("k")
    assert (best.config, best.time_ms, best.effort) == (B, 1.0, "full")


def test_results_come_oldest_first(open_cache):
    cache = open_cache()
    configs = [Config(block_sizes=[2**i], num_warps=4) for i in range(4, 9)]
    for i, c in enumerate(reversed(configs)):
        cache.record("k", c, float(i))
        time.sleep(0.002)  # distinct creation times
    assert [r.config for r in open_cache().results_for("k")] == list(reversed(configs))


def test_the_tuner_resumes_and_hits_through_the_backend(open_cache):
    space = small_space()
    first = FakeTarget(space, small_cost, interrupt_at=4)
    opts = {"workers": 1, "compile_timeout_s": 5.0, "progress": False}
    interrupted = Tuner(first, cache=open_cache(), **opts).tune(strategy="random", max_configs=8)
    assert interrupted.interrupted and interrupted.tried == 3

    resumed = Tuner(FakeTarget(space, small_cost), cache=open_cache(), **opts).tune(
        strategy="random", max_configs=8
    )
    assert resumed.resumed == 3 and not resumed.from_cache

    again = FakeTarget(space, small_cost)
    hit = Tuner(again, cache=open_cache(), **opts).tune(strategy="random")
    assert hit.from_cache and hit.tried == 0 and again.benchmarked == []
    assert (hit.config, hit.time_ms) == (resumed.config, resumed.time_ms)


# -- Redis only --------------------------------------------------------------------------


def test_keys_are_namespaced_and_foreign_values_ignored(server):
    import redis

    cache = RedisCache(server.url, local=NullCache())
    cache.record("k", A, 1.0)
    cache.put_best("k", A, 1.0, "quick")
    raw = redis.Redis.from_url(server.url)
    assert sorted(raw.keys("*")) == sorted([best_key("k").encode(), results_key("k").encode()])
    # values written by another kcompiler (other fields) or another program are skipped
    raw.hset(results_key("k"), "not json", "{}")
    raw.hset(results_key("k"), B.to_json(), '{"t": 1}')
    raw.set(best_key("k2"), "garbage")
    assert [r.config for r in cache.results_for("k")] == [A]
    assert cache.get_best("k2") is None and not cache.down
    raw.close()
    cache.close()


def test_writes_go_through_to_the_local_cache(server, tmp_path):
    local = SQLiteCache(tmp_path / "local.sqlite")
    cache = RedisCache(server.url, local=local)
    cache.record("k", A, 1.0)
    cache.put_best("k", A, 1.0, "quick")
    assert [r.config for r in local.results_for("k")] == [A]
    assert local.get_best("k").config == A
    # and results only the local file has (tuned before the server was set) are still used
    local.record("k", B, 2.0)
    assert {r.config for r in cache.results_for("k")} == {A, B}
    cache.close()


def test_server_down_at_start_falls_back_with_one_warning(tmp_path, caplog):
    require_client()
    local = SQLiteCache(tmp_path / "local.sqlite")
    url = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    cache = RedisCache(url, local=local, timeout_s=1.0)
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
        assert cache.get_best("k") is None
        cache.record("k", A, 1.0)
        cache.record("k", B, None, "compile failed")
        cache.put_best("k", A, 1.0, "quick")
        assert {r.config for r in cache.results_for("k")} == {A, B}
        assert cache.get_best("k").config == A
    assert time.monotonic() - start < 5
    (warning,) = warnings_of(caplog)
    assert cache.down and "ConnectionError" in warning
    assert "s3cret" not in warning and "s3cret" not in repr(cache)  # the password stays out
    assert {r.config for r in local.results_for("k")} == {A, B}


def test_a_missing_client_package_falls_back_with_one_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis raises ImportError
    cache = RedisCache("redis://127.0.0.1:1/0", local=SQLiteCache(tmp_path / "l.sqlite"))
    with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
        cache.record("k", A, 1.0)
        assert [r.config for r in cache.results_for("k")] == [A]
    (warning,) = warnings_of(caplog)
    assert "pip install 'kcompiler[redis]'" in warning


def test_server_killed_mid_tune_falls_back_and_loses_nothing(server, tmp_path, caplog):
    class KillsServer(FakeTarget):
        def benchmark(self, config: Config) -> float:
            if len(self.benchmarked) == 3:
                server.stop()
            return super().benchmark(config)

    local = SQLiteCache(tmp_path / "local.sqlite")
    cache = RedisCache(server.url, local=local, timeout_s=1.0)
    target = KillsServer(small_space(), small_cost)
    with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
        result = Tuner(target, cache=cache, workers=1, progress=False).tune(
            strategy="random", max_configs=10
        )
    assert result.tried == 10 and not result.interrupted and result.time_ms is not None
    assert cache.down and len(warnings_of(caplog)) == 1
    measured = {r.config for r in local.results_for(target.cache_key)}
    assert measured == set(target.benchmarked) and len(measured) == 10
    assert local.get_best(target.cache_key).config == result.config
    again = Tuner(FakeTarget(small_space(), small_cost), cache=cache, progress=False).tune()
    assert again.from_cache and again.config == result.config


def test_a_real_tune_through_the_setting_survives_the_server_dying(
    server, tmp_path, monkeypatch, caplog
):
    """KCOMPILER_CACHE_URL picks the server; it is killed at the second benchmark of a real
    kernel's tune on the interpreter, which completes on the local file."""
    import torch
    from redis_tune_job import scale

    from kcompiler.runtime.tuning import KernelTarget

    monkeypatch.setenv("KCOMPILER_CACHE_URL", server.url)
    monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(tmp_path))
    seen: list[tuple[str, Config]] = []
    benchmark = KernelTarget.benchmark

    def killing(self: KernelTarget, config: Config) -> float:
        seen.append((self.cache_key, config))
        if len(seen) == 2:
            server.stop()
        return benchmark(self, config)

    monkeypatch.setattr(KernelTarget, "benchmark", killing)
    x = torch.arange(256, dtype=torch.float32)
    try:
        with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
            result = scale.autotune((x,), effort="quick", budget_s=2.0, workers=1, progress=False)
    finally:
        scale.config = None
    assert len(warnings_of(caplog)) == 1 and len(seen) >= 3
    assert not result.from_cache and not result.interrupted and result.time_ms is not None
    key = seen[0][0]
    local = SQLiteCache(tmp_path / "autotune.sqlite")
    assert {r.config for r in local.results_for(key)} == {c for _, c in seen}
    assert local.get_best(key).config == result.config
    local.close()


def test_the_setting_chooses_the_backend(monkeypatch, tmp_path):
    monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("KCOMPILER_CACHE_URL", raising=False)
    local = default_cache()
    assert isinstance(local, SQLiteCache) and local.path.parent == tmp_path
    monkeypatch.setenv("KCOMPILER_CACHE_URL", "redis://127.0.0.1:1/0")
    shared = default_cache()
    assert isinstance(shared, RedisCache) and shared is default_cache()
    assert shared.local is local  # the fallback is the same local file
    monkeypatch.setenv("KCOMPILER_CACHE_URL", " ")
    assert default_cache() is local
    monkeypatch.setenv("KCOMPILER_CACHE_URL", "http://127.0.0.1:1/")
    with pytest.raises(ValueError, match="KCOMPILER_CACHE_URL"):
        default_cache()


TUNE_JOB = HERE / "redis_tune_job.py"


def tune_in_process(url: str, cache_dir: Path) -> dict:
    env = dict(
        os.environ,
        KCOMPILER_CACHE_URL=url,
        KCOMPILER_CACHE_DIR=str(cache_dir),
        TRITON_INTERPRET="1",
        PYTHONPATH=os.pathsep.join(sys.path),
    )
    proc = subprocess.run(
        [sys.executable, str(TUNE_JOB)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_second_process_is_served_from_the_first_ones_tuning(server, tmp_path):
    # Separate local cache dirs: as two machines, they share only the server.
    first = tune_in_process(server.url, tmp_path / "machine-a")
    assert not first["from_cache"] and first["tried"] >= 1 and first["time_ms"] is not None
    second = tune_in_process(server.url, tmp_path / "machine-b")
    assert second["from_cache"] and second["tried"] == 0
    assert (second["config"], second["time_ms"]) == (first["config"], first["time_ms"])

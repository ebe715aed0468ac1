"""SQLite cache: round trip, keys, corruption and lock handling, concurrent writers."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
import tomllib
from cache_hammer import hammer_cache

from kcompiler.autotune import SQLiteCache, default_cache_path, make_key
from kcompiler.config import Config

A = Config(block_sizes=[64], num_warps=4)
B = Config(block_sizes=[128], num_warps=8)


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "cache" / "autotune.sqlite"


def test_round_trip(path):
    cache = SQLiteCache(path)
    cache.record("k", A, 1.5)
    cache.record("k", B, None, "compile timed out after 15s")
    cache.record("other", B, 0.5)
    cache.put_best("k", A, 1.5, "quick")
    cache.close()

    reopened = SQLiteCache(path)
    results = {r.config: r for r in reopened.results_for("k")}
    assert set(results) == {A, B}
    assert results[A].time_ms == 1.5 and results[A].error is None
    assert results[B].time_ms is None and "timed out" in results[B].error
    best = reopened.get_best("k")
    assert (best.config, best.time_ms, best.effort) == (A, 1.5, "quick")
    assert reopened.get_best("other") is None
    assert [r.config for r in reopened.results_for("other")] == [B]


def test_make_key_depends_on_every_part():
    base = ("src-hash", (("float32", 2), (1024, 4096)), "NVIDIA H100", {"triton": "3.6"})
    key = make_key(*base)
    assert key == make_key(*base) and len(key) == 64
    variants = [
        ("src-hash2", base[1], base[2], base[3]),
        (base[0], (("float16", 2), (1024, 4096)), base[2], base[3]),
        (base[0], base[1], "NVIDIA H200", base[3]),
        (base[0], base[1], base[2], {"triton": "3.9"}),
    ]
    assert len({make_key(*v) for v in variants} | {key}) == 5
    assert make_key("s", "spec", "dev") == make_key("s", "spec", "dev")  # installed versions


def test_default_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("KCOMPILER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "kcompiler" / "autotune.sqlite"
    monkeypatch.setenv("KCOMPILER_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_path() == tmp_path / "mine" / "autotune.sqlite"


def test_garbage_file_is_moved_aside_and_rebuilt(path, caplog):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database \x00\xff" * 100)
    cache = SQLiteCache(path)
    with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
        cache.record("k", A, 2.0)
    assert [r.time_ms for r in cache.results_for("k")] == [2.0]
    assert not cache.disabled
    assert any("corrupted" in r.getMessage() for r in caplog.records)
    aside = list(path.parent.glob("autotune.sqlite.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")


def test_file_corrupted_while_in_use_is_rebuilt(path, caplog):
    cache = SQLiteCache(path)
    cache.record("k", A, 2.0)
    cache.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"\x13" * 8192)  # someone overwrote the file
    with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
        assert cache.get_best("k") is None
        cache.put_best("k", B, 1.0, "full")
    assert cache.get_best("k").config == B
    assert any("corrupted" in r.getMessage() for r in caplog.records)


def test_lock_held_past_the_timeout_disables_caching_with_a_warning(path, caplog):
    SQLiteCache(path).record("k", A, 1.0)  # creates the database
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO results VALUES ('x', '{}', 1.0, NULL, 0)")
    try:
        cache = SQLiteCache(path, timeout_s=0.2)
        with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
            cache.record("k", B, 2.0)  # must not raise
            cache.record("k", B, 2.0)
        assert cache.disabled
        warnings = [r for r in caplog.records if "continuing without caching" in r.getMessage()]
        assert len(warnings) == 1
        assert cache.get_best("k") is None and cache.results_for("k") == []
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_unwritable_location_disables_caching(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = SQLiteCache(blocker / "sub" / "autotune.sqlite")
    with caplog.at_level(logging.WARNING, logger="kcompiler.autotune"):
        cache.record("k", A, 1.0)
    assert cache.disabled and cache.get_best("k") is None


def test_two_processes_write_concurrently(path):
    SQLiteCache(path).close()
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=hammer_cache, args=(str(path), tag, 150, barrier)) for tag in ("a", "bb")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    cache = SQLiteCache(path)
    assert len(cache.results_for("key-a")) == 150
    assert len(cache.results_for("key-bb")) == 150
    assert len(cache.results_for("shared")) == 300
    assert cache.get_best("shared").config["indexing"] in ("a", "bb")


def test_library_versions_name_the_installed_packages():
    """The key's versions are those of the installed kcompiler, torch and triton (a misspelt
    distribution name would key every entry on 'absent' and survive a torch upgrade)."""
    from importlib import metadata

    from kcompiler.autotune.cache import library_versions

    versions = library_versions()
    assert sorted(versions) == ["kcompiler", "torch", "triton"]
    for dist, version in versions.items():
        assert version == metadata.version(dist) != "absent", dist


def test_make_key_reads_the_library_versions_by_default(monkeypatch: pytest.MonkeyPatch):
    from kcompiler.autotune import cache

    before = make_key("src", "spec", "dev")
    assert before == make_key("src", "spec", "dev", cache.library_versions())
    monkeypatch.setattr(cache, "library_versions", lambda: {"kcompiler": "other"})
    assert make_key("src", "spec", "dev") != before


def test_make_key_is_independent_of_mapping_order_and_keys_any_value():
    import torch

    assert make_key("s", {"a": 1, "b": 2}, "d", {"x": "1", "y": "2"}) == make_key(
        "s", {"b": 2, "a": 1}, "d", {"y": "2", "x": "1"}
    )
    # Values JSON cannot encode (a dtype) are keyed by their repr.
    assert make_key("s", (torch.float32, 3), "d", {}) != make_key("s", (torch.float16, 3), "d", {})


def test_make_key_format_is_stable():
    """The on-disk cache outlives a process: the same inputs must give the same key in every
    run and on every machine. Changing the key's format on purpose (it drops every cached
    tuning) means updating this digest."""
    key = make_key("src", "spec", "dev", {"kcompiler": "1", "torch": "2", "triton": "3"})
    assert key == "c1d07514e23f1583a6a86895ec4ba8925d3e93563d7650df1cd49886345fcdde"


def test_a_missing_package_is_keyed_as_absent(monkeypatch: pytest.MonkeyPatch):
    from importlib import metadata

    from kcompiler.autotune import cache

    def version(dist: str) -> str:
        raise metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(cache.metadata, "version", version)
    # kcompiler run from its source tree, not installed: the tree's pyproject version.
    tree = tomllib.loads((Path(cache.__file__).parents[2] / "pyproject.toml").read_text())
    assert cache.library_versions() == {
        "kcompiler": tree["project"]["version"],
        "torch": "absent",
        "triton": "absent",
    }
    monkeypatch.setattr(cache, "source_tree_version", lambda: "absent")
    assert cache.library_versions()["kcompiler"] == "absent"

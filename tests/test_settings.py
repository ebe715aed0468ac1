"""kcompiler/settings.py: every setting parsed, validated and documented in one place."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from kcompiler import settings
from kcompiler.settings import SettingError, Settings, from_environ

README = Path(__file__).resolve().parents[1] / "README.md"
PACKAGE = Path(__file__).resolve().parents[1] / "kcompiler"


def test_defaults_when_nothing_is_set() -> None:
    assert from_environ({}) == Settings()


@pytest.mark.parametrize(
    ("name", "raw", "allowed"),
    [
        ("KCOMPILER_INDEX_CHECKS", "maybe", "1, true, yes, on, 0"),
        ("KCOMPILER_PEEL_TAIL", "2", "1, true"),
        ("KCOMPILER_FP8_ACCUMULATE", "sloppy", "imprecise_acc, block, fast"),
        ("KCOMPILER_INTERPRETER_SMS", "-1", "a positive integer"),
        ("KCOMPILER_CACHE_URL", "http://host/", "redis://"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_allowed_values(
    name: str, raw: str, allowed: str
) -> None:
    with pytest.raises(
        SettingError, match=re.escape(f"{name}={raw!r}: expected") + ".*" + re.escape(allowed)
    ):
        from_environ({name: raw})


def test_values_are_parsed() -> None:
    got = from_environ(
        {
            "KCOMPILER_INDEX_CHECKS": "off",
            "KCOMPILER_PEEL_TAIL": "0",
            "KCOMPILER_FP8_ACCUMULATE": "block",
            "KCOMPILER_INTERPRETER_SMS": "7",
            "KCOMPILER_DUMP_IR": " ",  # empty counts as unset
            "KCOMPILER_CACHE_URL": "redis://h:1/0",
        },
        matmul_precision="high",
    )
    assert (got.index_checks, got.peel_tail, got.fp8_accumulate) == (False, False, "block")
    assert (got.interpreter_sms, got.dump_ir, got.cache_url) == (7, None, "redis://h:1/0")
    assert got.fp32_dot_precision == "tf32"
    assert got.codegen_key() == ("tf32", "block", False, False)


def test_triton_interpret_is_read_as_triton_reads_it() -> None:
    assert from_environ({"TRITON_INTERPRET": "True"}).interpret is True
    assert from_environ({"TRITON_INTERPRET": "2"}).interpret is False  # Triton: off, no error


def test_old_names_are_read_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match="KC_INTERPRETER_SMS is deprecated.*KCOMPILER_"):
        assert from_environ({"KC_INTERPRETER_SMS": "3"}).interpreter_sms == 3
    with pytest.raises(SettingError, match="KC_DEBUG_PASSES='x'"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from_environ({"KC_DEBUG_PASSES": "x"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new name wins, silently
        got = from_environ({"KC_DEBUG_PASSES": "1", "KCOMPILER_DEBUG_PASSES": "0"})
    assert got.debug_passes is False


def test_current_follows_the_environment_and_override_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KCOMPILER_PEEL_TAIL", "0")
    assert settings.current().peel_tail is False
    assert settings.current() is settings.current()  # parsed once per distinct environment
    monkeypatch.setenv("KCOMPILER_PEEL_TAIL", "1")
    assert settings.current().peel_tail is True
    with settings.override(peel_tail=False, index_checks=False) as pinned:
        assert settings.current() is pinned and not pinned.peel_tail
    assert settings.current().peel_tail is True
    with pytest.raises(TypeError), settings.override(no_such_setting=1):
        pass


def test_the_readme_table_lists_every_variable() -> None:
    text = README.read_text()
    section = text[text.index("## Settings") : text.index("## Testing")]
    rows = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, re.M))
    assert rows == {v.name for v in settings.VARIABLES}
    assert all(old in section for old in settings.DEPRECATED)


def test_no_module_but_settings_reads_the_environment() -> None:
    readers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "settings.py" and path.parent == PACKAGE:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"os\.environ\.get|os\.getenv|environ\[|in os\.environ", line):
                readers.append(f"{path.relative_to(PACKAGE)}:{n}")
    assert readers == [], readers


def test_importing_kcompiler_changes_no_environment() -> None:
    """Only kcompiler.runtime's documented TRITON_INTERPRET default may change os.environ."""
    code = (
        "import os, json; before = dict(os.environ); import kcompiler, kcompiler.settings, "
        "kcompiler.passes.pipeline, kcompiler.runtime.kernel; after = dict(os.environ); "
        "print(json.dumps(sorted(k for k in after.keys() | before.keys() "
        "if after.get(k) != before.get(k))))"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = str(PACKAGE.parent)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() in ("[]", '["TRITON_INTERPRET"]')
    env["TRITON_INTERPRET"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"

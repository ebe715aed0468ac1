"""Stand-ins for ``helion._testing`` (and the few other Helion modules) that Helion's unit tests
import, so ``benchmarks/helion_tests.py`` can run those tests on kcompiler.

The tests' kernels are the point; Helion's internals are not. So:

- ``code_and_output(kernel, args, **config)`` runs the kernel with that config on kcompiler and
  returns ``(CodeText(""), output)``. kcompiler's generated code differs from Helion's by
  design, so every assertion on a ``CodeText`` (``assertIn``, ``assertExpectedJournal``,
  ``assertEqualCode``...) is a no-op that is counted as a code check.
- A name from a Helion module kcompiler has no counterpart for (``helion._compiler.X``,
  ``helion.autotuner.X``) is a ``HelionOnly`` placeholder: importing it works, using it raises
  ``HelionInternal``, which the harness reports as SKIP. ``helion.exc.X`` that kcompiler's
  ``exc`` lacks is a ``HelionOnlyError`` subclass; a test expecting it to be raised is SKIP.
- The skip/xfail decorators for other backends or GPUs keep their meaning on a CPU run with
  the Triton backend: backend-only skips do nothing, GPU-capability skips skip.

``CHECKS`` counts, per test, the result checks (``torch.testing.assert_close`` and unittest
assertions on values) and the code checks that became no-ops: a test that passes with no
result check is reported as such.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
import unittest
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from benchmarks.helion_shim import (
    DEVICE,
    HALF_DTYPE,
    LONG_INT_TYPE,
    assert_close_with_mismatch_tolerance,
    assert_outputs_close,
    do_bench,
    run_example,
)

__all__ = [
    "CHECKS",
    "DEVICE",
    "EXAMPLES_DIR",
    "HALF_DTYPE",
    "LONG_INT_TYPE",
    "PROJECT_ROOT",
    "CodeText",
    "HelionInternal",
    "HelionOnlyError",
    "RefEagerTestBase",
    "assert_close_with_mismatch_tolerance",
    "assert_outputs_close",
    "do_bench",
    "run_example",
    "RefEagerTestDisabled",
    "TestCase",
    "check_example",
    "code_and_output",
    "import_path",
    "install_helion_aliases",
    "output_only",
]

# Where the harness staged Helion's ``examples/`` and ``test/data`` (set by the harness).
PROJECT_ROOT = Path(os.environ.get("HELION_TESTS_STAGED", "."))
EXAMPLES_DIR = PROJECT_ROOT / "examples"

CHECKS = {"result": 0, "code": 0, "read": 0}


class HelionInternal(Exception):
    """A test used a part of Helion that kcompiler does not have (SKIP, with this reason)."""


class HelionOnlyError(Exception):
    """Base of the placeholders for ``helion.exc`` errors that kcompiler's ``exc`` lacks."""


class CodeText(str):
    """What ``code_and_output`` returns for the generated code: kcompiler's code is not
    Helion's, so assertions on it are no-ops. Reading it (``code.splitlines()``, ``"x" in
    code``) is counted in ``CHECKS["read"]``: values derived from it are not results."""

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("__"):
            CHECKS["read"] += 1
        return str.__getattribute__(self, name)

    def __contains__(self, item: object) -> bool:
        CHECKS["read"] += 1
        return str.__contains__(self, item)  # type: ignore[operator]


class _HelionOnlyMeta(type):
    """Placeholders are classes (so ``isinstance`` and ``issubclass`` work); everything else
    done with one raises ``HelionInternal``."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise HelionInternal(f"uses Helion internal {cls.__qualname__}.{name}")

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise HelionInternal(f"uses Helion internal {cls.__qualname__}")


def _placeholder(path: str) -> type:
    return _HelionOnlyMeta(path.rsplit(".", 1)[-1], (), {"__qualname__": path})


class _PlaceholderModule(types.ModuleType):
    """A Helion module kcompiler has no counterpart for: every name is a placeholder. Setting
    a name (``unittest.mock.patch`` on it) raises, since the patch could have no effect."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = _placeholder(f"{self.__name__}.{name}")
        object.__setattr__(self, name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        current = self.__dict__.get(name)
        stand_in = current is not None and not isinstance(current, _HelionOnlyMeta)
        if stand_in or isinstance(value, types.ModuleType) or name.startswith("__"):
            object.__setattr__(self, name, value)
            return
        raise HelionInternal(f"patches Helion internal {self.__name__}.{name}")


class _ExcModule(types.ModuleType):
    """``helion.exc``: kcompiler's error of the same name where there is one, else a
    ``HelionOnlyError`` placeholder."""

    def __getattr__(self, name: str) -> Any:
        import kcompiler.exc

        if hasattr(kcompiler.exc, name):
            return getattr(kcompiler.exc, name)
        if name.startswith("__"):
            raise AttributeError(name)
        error = type(name, (HelionOnlyError,), {"__qualname__": f"helion.exc.{name}"})
        object.__setattr__(self, name, error)
        return error


# Helion submodules that resolve to a stand-in, also when reached as ``helion.<name>``.
_SUBMODULES = ("language", "exc", "_testing", "_compat", "runtime")


class _HelionModule(types.ModuleType):
    """``helion``: kcompiler's top-level names, placeholders for the rest."""

    def __getattr__(self, name: str) -> Any:
        import kcompiler

        if name.startswith("__"):
            raise AttributeError(name)
        if name in _SUBMODULES:
            return importlib.import_module(f"helion.{name}")
        try:
            return getattr(kcompiler, name)
        except AttributeError:
            pass
        value = _placeholder(f"helion.{name}")
        object.__setattr__(self, name, value)
        return value


def _compat_module() -> types.ModuleType:
    """``helion._compat``: the capability queries the tests ask, answered for kcompiler on
    Triton (tensor descriptors work, also in the interpreter; no TileIR). Tests patch
    ``_supports_tensor_descriptor`` and ``_min_dot_size`` to steer Helion's code generation;
    kcompiler does not read them, so such a patch leaves the kernel's meaning unchanged."""
    module = _PlaceholderModule("helion._compat")
    for name, value in {
        "use_tileir_tunables": lambda: False,
        "supports_tensor_descriptor": lambda: True,
        "_supports_tensor_descriptor": lambda: True,
        "_min_dot_size": lambda *args: (16, 16, 16),
        "get_tensor_descriptor_fn_name": lambda: "tl.make_tensor_descriptor",
    }.items():
        object.__setattr__(module, name, value)
    return module


class _HelionFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``helion`` and ``helion.*``: aliases where kcompiler has the module, the
    stand-ins above elsewhere."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname == "helion" or fullname.startswith("helion."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: Any) -> types.ModuleType:
        name = spec.name
        if name == "helion":
            module: types.ModuleType = _HelionModule(name)
        elif name == "helion.language":
            module = importlib.import_module("kcompiler.language")
        elif name == "helion._testing":
            module = sys.modules[__name__]
        elif name == "helion.exc":
            module = _ExcModule(name)
        elif name == "helion._compat":
            module = _compat_module()
        elif name == "helion.runtime.settings":
            module = _PlaceholderModule(name)
            object.__setattr__(module, "_get_backend", lambda: "triton")
        else:
            module = _PlaceholderModule(name)
        if not hasattr(module, "__path__"):
            object.__setattr__(module, "__path__", [])
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def install_helion_aliases() -> None:
    """Make ``import helion...`` resolve as described above (this process only)."""
    if not any(isinstance(f, _HelionFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _HelionFinder())


def _count_result(*_args: Any, **_kwargs: Any) -> None:
    CHECKS["result"] += 1


def counting(check: Callable[..., Any]) -> Callable[..., Any]:
    """``check`` (``torch.testing.assert_close``) that counts as a result check."""

    def counted(*args: Any, **kwargs: Any) -> Any:
        _count_result()
        return check(*args, **kwargs)

    return counted


def _has_code(*values: Any) -> bool:
    return any(isinstance(v, CodeText) for v in values)


def _helion_only(expected: Any) -> str | None:
    """The Helion-only error a test expects, if it expects one."""
    for error in expected if isinstance(expected, tuple) else (expected,):
        if isinstance(error, type) and issubclass(error, HelionOnlyError):
            return error.__qualname__
    return None


class TestCase(unittest.TestCase):
    """Helion's test base, for kcompiler: assertions on generated code are no-ops."""

    maxDiff = 4096

    def _code_check(self) -> None:
        CHECKS["code"] += 1

    def assertExpectedJournal(self, value: str) -> None:  # noqa: N802 - Helion's name
        self._code_check()

    def assertEqualCode(self, first: Any, second: Any, msg: Any = None) -> None:  # noqa: N802
        self._code_check()

    def assertNotEqualCode(self, first: Any, second: Any, msg: Any = None) -> None:  # noqa: N802
        self._code_check()

    def assertTrueIfInNormalMode(self, condition: Any, msg: Any = None) -> None:  # noqa: N802
        self.assertTrue(condition, msg)

    def assertIn(self, member: Any, container: Any, msg: Any = None) -> None:  # noqa: N802
        if _has_code(member, container):
            return self._code_check()
        _count_result()
        super().assertIn(member, container, msg)

    def assertNotIn(self, member: Any, container: Any, msg: Any = None) -> None:  # noqa: N802
        if _has_code(member, container):
            return self._code_check()
        _count_result()
        super().assertNotIn(member, container, msg)

    def assertRegex(self, text: Any, regex: Any, msg: Any = None) -> None:  # noqa: N802
        if _has_code(text):
            return self._code_check()
        _count_result()
        super().assertRegex(text, regex, msg)

    def assertNotRegex(self, text: Any, regex: Any, msg: Any = None) -> None:  # noqa: N802
        if _has_code(text):
            return self._code_check()
        _count_result()
        super().assertNotRegex(text, regex, msg)

    def assertEqual(self, first: Any, second: Any, msg: Any = None) -> None:  # noqa: N802
        if _has_code(first, second):
            return self._code_check()
        _count_result()
        super().assertEqual(first, second, msg)

    def assertNotEqual(self, first: Any, second: Any, msg: Any = None) -> None:  # noqa: N802
        if _has_code(first, second):
            return self._code_check()
        _count_result()
        super().assertNotEqual(first, second, msg)

    def assertTrue(self, expr: Any, msg: Any = None) -> None:  # noqa: N802
        _count_result()
        super().assertTrue(expr, msg)

    def assertFalse(self, expr: Any, msg: Any = None) -> None:  # noqa: N802
        _count_result()
        super().assertFalse(expr, msg)

    def assertRaises(self, expected: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        name = _helion_only(expected)
        if name:
            raise unittest.SkipTest(f"expects Helion-specific error {name}")
        _count_result()
        return super().assertRaises(expected, *args, **kwargs)

    def assertRaisesRegex(self, expected: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        name = _helion_only(expected)
        if name:
            raise unittest.SkipTest(f"expects Helion-specific error {name}")
        _count_result()
        return super().assertRaisesRegex(expected, *args, **kwargs)

    def getUserDefinedTunable(self, tunables: Any, key: str) -> Any:  # noqa: N802
        raise HelionInternal("reads Helion's user-defined tunables from its config spec")


class RefEagerTestBase:
    """Helion's mixin for its reference-eager test shards; the harness runs compiled mode."""

    _in_ref_eager_mode = False


class RefEagerTestDisabled:
    """Helion's marker for tests that have no reference-eager shard."""


# Config keys of Helion's other backends, which Helion's own ``code_and_output`` drops when it
# runs a test on its Triton backend (so one test's config serves every backend).
OTHER_BACKEND_KEYS = ("num_threads", "pallas_load_buffer_count")


def code_and_output(fn: Any, args: Sequence[Any], **config: Any) -> tuple[CodeText, Any]:
    """Run ``fn`` on ``args`` with ``config`` (the kernel's own config when empty), less the
    keys of Helion's other backends."""
    import kcompiler

    for key in OTHER_BACKEND_KEYS:
        config.pop(key, None)
    bound = fn.bind(*args)
    return CodeText(""), bound.run(kcompiler.Config(**config) if config else None)


def output_only(fn: Any, args: Sequence[Any], **config: Any) -> Any:
    return code_and_output(fn, args, **config)[1]


def import_path(filename: Path) -> types.ModuleType:
    """Import a staged Helion file (``test/data``, ``examples``) once, by file name."""
    name = f"helion_staged.{Path(filename).stem}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, filename)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def check_example(
    name: str,
    args: Sequence[Any],
    expected: Any,
    fn_name: str | None = None,
    skip_accuracy: bool = False,
    static_shapes: bool | None = None,
    atol: float = 1e-1,
    rtol: float = 1e-2,
    **config: Any,
) -> CodeText:
    """Run example ``name``'s kernel with ``config`` and compare it with ``expected``."""
    for knob in ("max_mismatch_pct", "max_mismatched_abs_diff", "emit_code", "cos_sim"):
        if config.pop(knob, None) is not None and knob != "emit_code":
            raise HelionInternal(f"check_example({knob}=...) tolerance mode")
    if static_shapes is not None:
        raise HelionInternal("check_example(static_shapes=...) sets Helion kernel settings")
    kernel = getattr(import_path(EXAMPLES_DIR / f"{name}.py"), fn_name or name)
    code, result = code_and_output(kernel, args, **config)
    if not skip_accuracy:
        got = result if isinstance(result, (tuple, list)) else (result,)
        want = expected if isinstance(expected, (tuple, list)) else (expected,)
        for g, w in zip(got, want, strict=True):
            torch.testing.assert_close(
                g.to(torch.float32), w.to(torch.float32), atol=atol, rtol=rtol
            )
    return code


# -- decorators ------------------------------------------------------------------------------


def _keep(*_args: Any, **_kwargs: Any) -> Callable[[Any], Any]:
    """A skip/xfail for another backend or device: the test runs here."""
    return lambda item: item


def _skip_here(why: str) -> Callable[..., Callable[[Any], Any]]:
    """A skip whose condition holds on a CPU run under Triton's interpreter."""

    def decorator(*args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        reason = kwargs.get("reason") or next((a for a in args if isinstance(a, str)), "")
        return unittest.skip(f"{why}{': ' + reason if reason else ''}")

    return decorator


def skipIfFn(cond_fn: Callable[[], bool], reason: str) -> Callable[[Any], Any]:  # noqa: N802
    """Helion's deferred skip: the condition is asked now."""
    return unittest.skip(reason) if cond_fn() else (lambda item: item)


def onlyBackends(backends: Sequence[str]) -> Callable[[Any], Any]:  # noqa: N802
    """Runs the tests when Helion runs them on its Triton backend."""
    return _keep() if "triton" in backends else unittest.skip(f"only for {list(backends)}")


def skipIfPyTorchBaseVerLessThan(min_version: str) -> Callable[[Any], Any]:  # noqa: N802
    from packaging import version

    base = version.parse(torch.__version__.split("+")[0]).base_version
    if version.parse(base) < version.parse(min_version):
        return unittest.skip(f"needs torch >= {min_version}")
    return _keep()


def get_test_dot_precision() -> str:
    return "tf32"


def _get_backend() -> str:
    return "triton"


# Backend- and vendor-specific skips that do not apply to a Triton run.
for _name in (
    "skipIfRefEager",
    "skipIfTileIR",
    "skipIfCute",
    "skipIfPallas",
    "skipIfMetal",
    "skipIfMTIA",
    "skipIfRocm",
    "skipIfXPU",
    "skipIfA10G",
    "skipIfNotTriton",
    "skipIfPallasInterpret",
    "skipUnlessTensorDescriptor",
    "xfailIfPallas",
    "xfailIfPallasTpu",
    "xfailIfPallasInterpret",
    "xfailIfCute",
):
    globals()[_name] = _keep
    __all__.append(_name)

# Skips whose condition holds here (no GPU; a reference-eager-only test).
for _name, _why in (
    ("skipIfNormalMode", "reference-eager mode only"),
    ("skipIfNotCUDA", "needs CUDA"),
    ("skipIfCudaCapabilityLessThan", "needs a CUDA capability"),
    ("skipIfSharedMemoryLessThan", "needs a GPU's shared memory"),
    ("skipIfLowVRAM", "needs a large GPU memory"),
    ("skipUnlessAMDCDNA", "needs AMD CDNA"),
    ("skipUnlessMTIA", "needs MTIA"),
    ("skipUnlessTileIR", "needs TileIR"),
    ("skipUnlessPallas", "needs Pallas"),
    ("skipUnlessCuteAvailable", "needs CuTe"),
    ("skipUnlessTf32Supported", "needs a GPU with TF32"),
):
    globals()[_name] = _skip_here(_why)
    __all__.append(_name)
__all__ += ["skipIfFn", "onlyBackends", "skipIfPyTorchBaseVerLessThan", "get_test_dot_precision"]
__all__ += ["_get_backend"]

"""A ``Kernel`` call goes through a ``torch.library`` custom op.

So a kernel is one opaque op to everything that intercepts torch's dispatcher:
``FlopCounterMode`` (which counts it with the formula in ``runtime/flops.py``), user
``TorchDispatchMode``s (they see ``kcompiler.<name>_<hash>``, not the host code's ``empty``s),
``torch.compile`` (Dynamo puts the call in the graph; AOTAutograd traces the op through its
fake implementation) and CUDA graphs (the real implementation launches on the current stream).

How a call maps onto an op
--------------------------
* **One op per signature.** A signature is the structure of the call's arguments, as passed
  (positional, then keywords; not bound, which would cost a ``Signature.bind`` per call), with
  every non-tensor value (floats, ints, bools, None, lists such as ``normalized_shape``,
  dtypes, strings) *closed over* by value, plus each tensor's dtype and rank. The op's inputs
  are the tensors only, in call order (tensors inside lists/tuples too). So ``bias=None`` and
  ``bias=tensor`` are two ops, and a new ``eps`` value registers a new op; kernels are
  specialized on such values anyway. Non-tensor values that are not hashable are keyed by
  identity. Symbolic ints/floats (dynamic shapes under ``torch.compile``) are specialized.
  The op is named ``kcompiler::<kernel name>_<8 hex digits of a hash of the signature>``
  and registered lazily, on the first call with that signature.
* **Outputs.** On registration the host code runs once on fake copies of the arguments
  with device loops skipped (a "probe"). Its result is flattened (tuples, lists, dicts,
  nested): every distinct fresh tensor becomes an op output (schema ``-> Tensor`` or
  ``-> (Tensor, ...)``); ``None`` and other non-tensor leaves are constants of the signature
  restored around the op; a returned *argument* is passed through outside the op. An output
  that would alias an input or an earlier output (a view of one) is cloned, since a custom
  op's outputs may not alias. The same structure is required on every call.
* **Mutated arguments.** The probe traces each device loop that would launch; a tensor
  argument written by a ``tile.store`` (through any view of it: ``x.view(-1)``), or changed
  in place by host code, is declared in ``mutates_args`` (``Tensor(a0!) x``). Mutations the
  probe cannot see (a pointer computed from data) are not declared: such kernels must return
  what they write.
* **Real implementation**: calls the kernel again with the same arguments, with routing off
  (a thread-local flag), so the normal path runs: host code, compile cache, launches.
* **Fake implementation**: runs the *host* code (``_HostRun`` mode ``"fake"``: device loops
  are not compiled or launched) on the fake tensors, so output shapes and dtypes come from
  the user's own host code. Host code must work on fake tensors (no ``.item()``).

Routing: ``Kernel.__call__`` skips the op (a direct call, no dispatcher cost) when no
``TorchDispatchMode`` is active and nothing is compiling: then nobody could see the op. Else
it routes, unless ``KCOMPILER_CUSTOM_OP=0`` is set in the environment or the kernel was made
with ``@kc.kernel(custom_op=False)``. Through the op, a call costs about 13 us more on CPU.

Registration uses ``torch.library.Library`` (define + ``CompositeExplicitAutograd`` impl +
``register_fake``), not ``torch.library.custom_op``, whose Python autograd and
dynamo-disable wrappers cost about 100 us a call. ``opcheck`` passes.

Autograd
--------
A kernel without a backward registers ``fallthrough_kernel`` at the Autograd key for calls
that need no gradient. A call in grad mode with an argument that requires grad goes through a
second op of the same signature, the *forward-only* op, whose autograd formula's backward
raises :class:`kcompiler.exc.NoBackward` naming the kernel: the forward runs and its outputs
carry that node, so forward-only use works and a gradient asked of them fails loudly, never
silently dropped. Where the output could not carry it (the kernel writes its arguments, or
returns no tensor), or what requires grad is no argument (a global the op cannot see), the
call itself raises NoBackward. A kernel with a backward (``Kernel.register_backward``) gets
``torch.library.register_autograd`` on each signature's op, through :class:`_GradAdapter`,
which translates between the op's view (tensor inputs in call order, fresh-tensor outputs)
and the user's (the kernel's parameters in order, its result as returned):

* ``setup_context(ctx, inputs, output)``: ``inputs`` is the tuple of the kernel's arguments
  in parameter order with defaults filled (tensors and non-tensors), ``output`` the result as
  the kernel returns it.
* ``backward(ctx, *grads)``: one gradient per output tensor, in the order they appear in the
  result (a returned *argument* is not an output and gets none); it returns one gradient per
  parameter (a tuple, a dict by parameter name, or the bare gradient of a one-parameter kernel),
  None where there is none; a list argument of tensors takes a list of gradients. While it
  runs, ``ctx.needs_input_grad`` is per parameter too.

Every call that needs a gradient goes through the op (eager calls included, whatever the
routing settings), so the autograd graph always holds the op's node, under ``torch.compile``
too. Under a dispatch mode or ``torch.compile``, :func:`wants_grad` decides at the call. On
the direct path nothing is tested per call: a launch whose loop reads a tensor that requires
grad, in grad mode, is refused (the fast-path key holds each tensor's ``requires_grad``, so
this costs an attribute read per tensor, and a flag test only on hits that are not the
loop's last one) by starting the call again through an op (``Kernel``'s ``_GradNeeded``):
the outermost direct-path call of a kernel with a backward (its op), else the outermost
direct-path call (its forward-only op). A kernel with a backward may not write its arguments (a
mutating op has no autograd formula in ``torch.library``).

Under ``torch.compile`` Dynamo does not trace into the kernel: ``Kernel.__call__`` asks
:func:`handle` (marked ``assume_constant_result``: it runs at trace time and its result, an
int, becomes a constant) and calls :func:`call_op` (``allow_in_graph``) with that int and the
arguments; AOTAutograd then traces ``call_op`` into the custom op. The kernel objects are
looked up by that int in a weak registry.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from kcompiler import settings
from kcompiler.dialects import tile as t
from kcompiler.exc import InvalidArgument, NoBackward
from kcompiler.runtime.counting import Counts, count_launch, register_formula

if TYPE_CHECKING:
    from kcompiler.runtime.kernel import Kernel

NAMESPACE = "kcompiler"
ENABLED = settings.current().custom_op  # KCOMPILER_CUSTOM_OP, read once at import

_tls = threading.local()
_KERNELS: weakref.WeakValueDictionary[int, Kernel] = weakref.WeakValueDictionary()
_SIGNATURES: weakref.WeakKeyDictionary[Kernel, dict[Any, _Signature]] = weakref.WeakKeyDictionary()
_NAMES: set[str] = set()
_LOCK = threading.RLock()
_dynamo_ready = False


# -- routing (the hook in Kernel.__call__) ---------------------------------------------------


def _depth() -> int:
    return getattr(_tls, "inside", 0)


@contextlib.contextmanager
def _observing(observer: Callable[[int, dict[str, Any]], None] | None) -> Iterator[None]:
    """Device loops skipped by a fake host run in this block are reported to ``observer``."""
    stack = getattr(_tls, "observers", None)
    if stack is None:
        stack = _tls.observers = []
    stack.append(observer)
    try:
        yield
    finally:
        stack.pop()


def _allow_entry_in_graph() -> None:
    """Tell Dynamo to put :func:`call_op` in the graph (only once Dynamo is loaded)."""
    global _dynamo_ready
    if not _dynamo_ready and "torch._dynamo" in sys.modules:
        sys.modules["torch._dynamo"].allow_in_graph(call_op)
        sys.modules["torch._dynamo"].allow_in_graph(call_forward_only)
        _dynamo_ready = True


def register(kernel: Kernel, force: bool = False) -> int | None:
    """The registry id through which ``kernel``'s calls may be routed (None: never routed);
    taken once, when the kernel is made (or given a backward: ``force``, since calls that need
    a gradient always go through the op), so a compiled caller reads a plain int attribute."""
    if not force and not kernel.settings.get("custom_op", True):
        return None
    kid = id(kernel)
    _KERNELS[kid] = kernel
    return kid


def routing() -> bool:
    """Whether calls go through the custom op now (not inside one already, not turned off).
    Takes no arguments so that Dynamo can fold it to a constant (assume_constant_result)."""
    if not ENABLED or _depth():
        return False
    _allow_entry_in_graph()
    return True


routing._dynamo_marked_constant = True  # type: ignore[attr-defined]  # = assume_constant_result


def grad_routing() -> bool:
    """Whether a call that needs a gradient goes through :func:`call_op` (not inside an op
    already, where it calls :func:`dispatch` itself). A constant under Dynamo, as
    :func:`routing`; it lets Dynamo put ``call_op`` in the graph."""
    if _depth():
        return False
    _allow_entry_in_graph()
    return True


grad_routing._dynamo_marked_constant = True  # type: ignore[attr-defined]


def wants_grad(args: Any, kwargs: dict[str, Any]) -> bool:
    """Whether autograd would record this call: grad mode is on and a tensor argument (or one
    inside a list/tuple argument) requires grad. Plain Python, so that Dynamo traces it."""
    if not torch.is_grad_enabled():
        return False
    for v in (*args, *kwargs.values()):
        if isinstance(v, torch.Tensor):
            if v.requires_grad:
                return True
        elif type(v) in (list, tuple):
            if any(isinstance(x, torch.Tensor) and x.requires_grad for x in v):
                return True
    return False


def grad_arguments(kernel: Kernel, args: Any, kwargs: dict[str, Any]) -> list[str]:
    """The names of the arguments that require grad (tensors, or lists holding one)."""
    try:
        bound = kernel.signature.bind(*args, **kwargs).arguments
    except TypeError:
        bound = {f"#{i}": v for i, v in enumerate(args)} | dict(kwargs)
    return [
        n
        for n, v in bound.items()
        if (isinstance(v, torch.Tensor) and v.requires_grad)
        or (
            type(v) in (list, tuple)
            and any(isinstance(x, torch.Tensor) and x.requires_grad for x in v)
        )
    ]


def no_backward(kernel: Kernel, names: list[str]) -> NoBackward:
    """The error for a call autograd would record but no backward covers: ``names`` are the
    arguments (or, found at a launch, the host variables a device loop reads) that require
    grad."""
    name = kernel.fn.__name__
    code = getattr(kernel.fn, "__code__", None)
    where = f" (defined at {code.co_filename}:{code.co_firstlineno})" if code else ""
    what = ", ".join(repr(n) for n in names)
    if kernel.backward_rule is None:
        why = f"kernel {name!r}{where} has no backward, and {what} require(s) grad"
    else:  # a loop reads a tensor that requires grad and is no argument: the op cannot see it
        why = f"kernel {name!r}{where} reads {what}, which require(s) grad but is no argument"
    return NoBackward(
        f"{why} while grad mode is on, so its output could not carry a gradient. Declare a "
        f"backward with @{name}.register_backward (see the README, 'Autograd'), or call it "
        "under torch.no_grad() (or on detached inputs) if no gradient is needed"
    )


def backward_refused(kernel: Kernel, names: list[str]) -> NoBackward:
    """The error a forward-only op's backward raises: a gradient was asked of the output of a
    kernel without a backward (``names``: its arguments that required grad)."""
    name = kernel.fn.__name__
    code = getattr(kernel.fn, "__code__", None)
    where = f" (defined at {code.co_filename}:{code.co_firstlineno})" if code else ""
    what = ", ".join(repr(n) for n in names)
    return NoBackward(
        f"kernel {name!r}{where} has no backward, and a gradient was asked of its output "
        f"(computed from {what}, which require(s) grad). Declare a backward with "
        f"@{name}.register_backward (see the README, 'Autograd'), or detach those inputs or "
        "call the kernel under torch.no_grad() if no gradient should flow through it"
    )


def call_op(kid: int, *args: Any, **kwargs: Any) -> Any:
    kernel = _KERNELS.get(kid)
    if kernel is None:
        raise RuntimeError(f"kcompiler: no live kernel with id {kid}")
    return dispatch(kernel, args, kwargs)


def call_forward_only(kid: int, *args: Any, **kwargs: Any) -> Any:
    """:func:`call_op` through the forward-only op (a kernel without a backward, a call that
    autograd records)."""
    kernel = _KERNELS.get(kid)
    if kernel is None:
        raise RuntimeError(f"kcompiler: no live kernel with id {kid}")
    return dispatch(kernel, args, kwargs, forward_only=True)


def observe_launch(host: Any, index: int, env: dict[str, Any]) -> None:
    """Called by ``_HostRun.launch`` in mode ``"fake"`` instead of compiling and launching."""
    stack = getattr(_tls, "observers", None)
    if stack and stack[-1] is not None:
        stack[-1](index, env)


# -- argument and result structures ----------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """Placeholder for op input/output number ``i``."""

    i: int


@dataclass(frozen=True)
class _Arg:
    """A result leaf that is op input ``i`` itself (returned outside the op)."""

    i: int


_SCALAR_TYPES = (bool, int, str, type(None), torch.dtype, torch.device, torch.layout,
                 torch.memory_format)  # fmt: skip


def _concrete(v: Any) -> Any:
    if isinstance(v, torch.SymInt):
        hint = getattr(v.node, "hint", None)
        return int(hint) if hint is not None else int(v)
    if isinstance(v, torch.SymFloat):
        hint = getattr(v.node, "hint", None)
        return float(hint) if hint is not None else float(v)
    if isinstance(v, torch.SymBool):
        return bool(v)
    return v


def _split(v: Any, tensors: list[torch.Tensor]) -> tuple[Any, Any]:
    """(hashable key, template with _Slot placeholders) of an argument value."""
    if isinstance(v, torch.Tensor):
        tensors.append(v)
        return ("T", v.dtype, v.dim()), _Slot(len(tensors) - 1)
    if type(v) in (list, tuple):
        parts = [_split(x, tensors) for x in v]
        return (type(v).__name__, tuple(k for k, _ in parts)), type(v)(p for _, p in parts)
    if type(v) is dict:
        parts2 = [(k, *_split(x, tensors)) for k, x in v.items()]
        key = ("dict", tuple((k, kk) for k, kk, _ in parts2))
        return key, {k: p for k, _, p in parts2}
    v = _concrete(v)
    if isinstance(v, float):
        return ("float", repr(v)), v
    if isinstance(v, _SCALAR_TYPES):
        return (type(v).__name__, v), v
    try:
        hash(v)
        return (type(v).__qualname__, v), v
    except TypeError:
        return ("id", type(v).__qualname__, id(v)), v


def _leaf_key(v: Any, tensors: list[torch.Tensor]) -> Any:
    if isinstance(v, torch.Tensor):
        tensors.append(v)
        return (v.dtype, v.dim())
    tv = type(v)
    if tv is float:
        return (tv, repr(v))
    if tv is int or tv is bool or tv is str or v is None:
        return (tv, v)
    return _split(v, tensors)[0]


def _call_key(args: Any, kwargs: dict[str, Any], tensors: list[torch.Tensor]) -> Any:
    """The signature key of a call (collecting its tensors, in ``_split`` order); cheap."""
    key = [_leaf_key(a, tensors) for a in args]
    if kwargs:
        key.append(tuple((k, _leaf_key(v, tensors)) for k, v in kwargs.items()))
    return tuple(key)


def _rebuilder(template: Any) -> Callable[[Any], tuple[Any, Any]]:
    """A fast ``_fill`` of an ``(args, kwargs)`` template whose tensors are all top-level."""
    args_t, kwargs_t = template

    def nested(x: Any) -> bool:
        return not isinstance(x, _Slot) and _has_slot(x)

    if any(nested(x) for x in args_t) or any(nested(x) for x in kwargs_t.values()):
        return lambda tensors: _fill(template, tensors)
    base = list(args_t)
    arg_slots = [(p, x.i) for p, x in enumerate(args_t) if isinstance(x, _Slot)]
    kw_slots = [(k, x.i) for k, x in kwargs_t.items() if isinstance(x, _Slot)]

    def rebuild(tensors: Any) -> tuple[Any, Any]:
        a = base.copy()
        for p, i in arg_slots:
            a[p] = tensors[i]
        kw = dict(kwargs_t)
        for k, i in kw_slots:
            kw[k] = tensors[i]
        return a, kw

    return rebuild


def _has_slot(x: Any) -> bool:
    if isinstance(x, _Slot):
        return True
    if type(x) in (list, tuple):
        return any(_has_slot(y) for y in x)
    if type(x) is dict:
        return any(_has_slot(y) for y in x.values())
    return False


def _fill(template: Any, tensors: Any) -> Any:
    if isinstance(template, _Slot):
        return tensors[template.i]
    if type(template) in (list, tuple):
        return type(template)(_fill(x, tensors) for x in template)
    if type(template) is dict:
        return {k: _fill(x, tensors) for k, x in template.items()}
    return template


def _fill_result(template: Any, outs: Any, inputs: Any) -> Any:
    if isinstance(template, _Slot):
        return outs[template.i]
    if isinstance(template, _Arg):
        return inputs[template.i]
    if type(template) in (list, tuple):
        return type(template)(_fill_result(x, outs, inputs) for x in template)
    if type(template) is dict:
        return {k: _fill_result(x, outs, inputs) for k, x in template.items()}
    return template


def _collect(template: Any, value: Any, outs: list[Any], where: str = "result") -> None:
    """Put the tensors of ``value`` at ``template``'s _Slot positions into ``outs``."""
    if isinstance(template, _Slot):
        if not isinstance(value, torch.Tensor):
            raise _structure_error(where, f"a tensor, got {type(value).__name__}")
        outs[template.i] = value
    elif isinstance(template, _Arg):
        return
    elif type(template) in (list, tuple):
        if not isinstance(value, (list, tuple)) or len(value) != len(template):
            raise _structure_error(where, f"a {type(template).__name__} of {len(template)}")
        for k, (t, v) in enumerate(zip(template, value)):
            _collect(t, v, outs, f"{where}[{k}]")
    elif type(template) is dict:
        if not isinstance(value, dict) or value.keys() != template.keys():
            raise _structure_error(where, f"a dict with keys {sorted(template)}")
        for k, t in template.items():
            _collect(t, value[k], outs, f"{where}[{k!r}]")
    elif isinstance(value, torch.Tensor):
        raise _structure_error(where, f"{template!r} as on the first call")


def _structure_error(where: str, expected: str) -> RuntimeError:
    return RuntimeError(
        f"kcompiler custom op: the kernel's {where} should be {expected}: a kernel must return "
        "the same structure on every call with one signature"
    )


def _storage(t: torch.Tensor) -> Any:
    from torch.multiprocessing.reductions import StorageWeakRef

    try:
        return StorageWeakRef(t.untyped_storage())
    except Exception:  # noqa: BLE001 - tensors without storage (some subclasses)
        return None


def _bump_version(t: torch.Tensor) -> None:
    """Tell autograd a mutated input changed (the ADInplaceOrView step custom_op would do)."""
    try:
        torch.autograd.graph.increment_version(t)
    except Exception:  # noqa: BLE001 - inference tensors have no version counter
        pass


def _fake_copy(t: torch.Tensor) -> torch.Tensor:
    """A fake tensor of the active (fresh) FakeTensorMode with ``t``'s metadata and device."""
    shape = [_concrete(s) for s in t.shape]
    stride = [_concrete(s) for s in t.stride()]
    return torch.empty_strided(shape, stride, dtype=t.dtype, device=t.device)


# -- analysis: host code on fake tensors, device loops traced not launched -------------------


@dataclass
class Analysis:
    result: Any
    inputs: list[torch.Tensor]
    mutated: set[int]
    counts: Counts


def run_host_only(
    kernel: Kernel,
    args: Any,
    kwargs: dict[str, Any],
    observer: Callable[[int, dict[str, Any]], None] | None = None,
) -> Any:
    """Run the host code with device loops skipped (each goes to ``observer``)."""
    # Kernels called by this host code still route through their ops (their fake impls).
    with _observing(observer):
        return kernel.bind(*args, **kwargs).run_host(kernel.choose_config())


def analyze(kernel: Kernel, args: Any, kwargs: dict[str, Any]) -> Analysis:
    """Run the host code on fake copies; trace and count every loop that would launch."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.utils._python_dispatch import _disable_current_modes
    from xdsl.ir import BlockArgument

    tensors: list[torch.Tensor] = []
    _, template = _split((tuple(args), dict(kwargs)), tensors)
    counts = Counts()
    mutated: set[int] = set()

    def observer(index: int, env: dict[str, Any]) -> None:
        nonlocal counts
        with _disable_current_modes():  # tracing reads metadata only
            counts += count_launch(kernel, index, env)
            module, _ = kernel.trace_loop(index, env)
        for op in module.walk():
            if isinstance(op, (t.StoreOp, t.AtomicOp)):
                arg = op.tensor
                if not isinstance(arg, BlockArgument):
                    continue
                kop = arg.owner.parent_op()
                if not isinstance(kop, t.KernelOp):
                    continue
                value = env.get(kop.names[arg.index])
                if isinstance(value, torch.Tensor):
                    s = _storage(value)
                    mutated.update(i for i, si in enumerate(storages) if si is not None and si == s)

    # The caller's modes (FakeTensorMode under torch.compile, FlopCounterMode, user modes) are
    # set aside; the host code runs on fakes of a fresh FakeTensorMode, on the same devices.
    with _disable_current_modes(), FakeTensorMode(allow_non_fake_inputs=False):
        metas = [_fake_copy(x) for x in tensors]
        storages = [_storage(m) for m in metas]
        versions = [m._version for m in metas]
        a, kw = _fill(template, metas)
        result = run_host_only(kernel, a, kw, observer)
    mutated.update(i for i, m in enumerate(metas) if m._version != versions[i])
    return Analysis(result, metas, mutated, counts)


# -- the op of one signature -----------------------------------------------------------------


@dataclass
class _Signature:
    kernel_ref: Any  # weakref to the Kernel
    name: str
    template: Any  # argument dict with _Slot(i) for tensor inputs
    input_names: list[str]
    mutated: tuple[int, ...]
    result: Any  # result template: _Slot(j) op outputs, _Arg(i) inputs passed through
    n_out: int
    clone: frozenset[int]
    overload: Any = None
    rebuild: Any = None
    counts_cache: dict[Any, Counts] = field(default_factory=dict)

    @property
    def kernel(self) -> Kernel:
        k = self.kernel_ref()
        if k is None:
            raise RuntimeError(f"kcompiler op {self.name}: its kernel was garbage-collected")
        return k

    def args(self, tensors: Any) -> tuple[Any, dict[str, Any]]:
        if self.rebuild is None:
            self.rebuild = _rebuilder(self.template)
        return self.rebuild(tensors)

    def outputs(self, result: Any) -> Any:
        outs: list[Any] = [None] * self.n_out
        _collect(self.result, result, outs)
        outs = [o.clone() if j in self.clone else o for j, o in enumerate(outs)]
        if self.n_out == 0:
            return None
        return outs[0] if self.n_out == 1 else tuple(outs)

    def real(self, *tensors: torch.Tensor) -> Any:
        kernel = self.kernel
        args, kwargs = self.args(tensors)
        _tls.inside = _depth() + 1  # the kernel runs directly, not through this op again
        try:
            result = kernel(*args, **kwargs)
        finally:
            _tls.inside -= 1
        for i in self.mutated:
            _bump_version(tensors[i])
        return self.outputs(result)

    def fake(self, *tensors: torch.Tensor) -> Any:
        args, kwargs = self.args(tensors)
        return self.outputs(run_host_only(self.kernel, args, kwargs))

    def counts(self, tensors: Any) -> Counts:
        key = tuple((tuple(_concrete(s) for s in x.shape), tuple(_concrete(s) for s in x.stride()))
                    for x in tensors)  # fmt: skip
        hit = self.counts_cache.get(key)
        if hit is None:
            args, kwargs = self.args(tensors)
            hit = analyze(self.kernel, args, kwargs).counts
            if len(self.counts_cache) > 256:
                self.counts_cache.clear()
            self.counts_cache[key] = hit
        return hit

    def flop_formula(self, *args: Any, out_val: Any = None, **kwargs: Any) -> int:
        tensors = list(args) + [kwargs[n] for n in self.input_names[len(args) :] if n in kwargs]
        try:
            return self.counts(tensors).flops
        except Exception as e:  # noqa: BLE001 - a FLOP count must never break the call
            import warnings

            warnings.warn(f"kcompiler: no FLOP count for {self.name}: {e}", stacklevel=2)
            return 0


def _result_template(value: Any, inputs: list[torch.Tensor], outs: list[torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        for i, x in enumerate(inputs):
            if value is x:
                return _Arg(i)
        for j, o in enumerate(outs):
            if value is o:
                return _Slot(j)
        outs.append(value)
        return _Slot(len(outs) - 1)
    if type(value) in (list, tuple):
        return type(value)(_result_template(x, inputs, outs) for x in value)
    if type(value) is dict:
        return {k: _result_template(x, inputs, outs) for k, x in value.items()}
    return value


def _ident(s: str) -> str:
    s = re.sub(r"\W", "_", s)
    return s if s and not s[0].isdigit() else f"k_{s}"


def _input_names(template: Any, prefix: str = "") -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    if isinstance(template, _Slot):
        out.append((template.i, prefix or f"t{template.i}"))
    elif type(template) in (list, tuple):
        for k, x in enumerate(template):
            out += _input_names(x, f"{prefix}_{k}")
    elif type(template) is dict:
        for k, x in template.items():
            out += _input_names(x, f"{prefix}_{k}" if prefix else str(k))
    return out


_LIB: Any = None


def _library() -> Any:
    global _LIB
    if _LIB is None:
        _LIB = torch.library.Library(NAMESPACE, "FRAGMENT")
    return _LIB


def _register(
    kernel: Kernel,
    key: Any,
    template: Any,
    tensors: list[torch.Tensor],
    forward_only: bool = False,
) -> _Signature:

    args, kwargs = _fill(template, tensors)
    probe = analyze(kernel, args, kwargs)
    outs: list[torch.Tensor] = []
    result = _result_template(probe.result, probe.inputs, outs)
    # Outputs may alias neither inputs nor each other: clone views of either.
    seen = {s for s in (_storage(m) for m in probe.inputs) if s is not None}
    clone = set()
    for j, o in enumerate(outs):
        s = _storage(o)
        if s is not None and s in seen:
            clone.add(j)
        elif s is not None:
            seen.add(s)

    # Input names: the parameter each tensor is bound to (x, weight, bias, tensors_0, ...).
    by_id = {}
    bound_tensors: list[torch.Tensor] = []
    _, bound_template = _split(dict(kernel.bind(*args, **kwargs).arguments), bound_tensors)
    for i, n in _input_names(bound_template):
        by_id.setdefault(id(bound_tensors[i]), n)
    names = {i: by_id.get(id(x), f"t{i}") for i, x in enumerate(tensors)}
    used: set[str] = set()
    input_names = []
    for i in range(len(tensors)):
        n = _ident(names.get(i, f"t{i}"))
        if n == "self" or n in used:  # "self" would clash in auto_functionalized(**kwargs)
            n = f"{n}_{i}"
        used.add(n)
        input_names.append(n)
    mutated = tuple(sorted(probe.mutated))
    params = ", ".join(
        f"Tensor(a{i}!) {n}" if i in probe.mutated else f"Tensor {n}"
        for i, n in enumerate(input_names)
    )
    returns = "Tensor" if len(outs) == 1 else f"({', '.join(['Tensor'] * len(outs))})"
    schema = f"({params}) -> {returns}"

    fn = kernel.fn
    digest = hashlib.sha1(repr((fn.__module__, fn.__qualname__, key)).encode()).hexdigest()[:8]
    base = _ident(f"{kernel.program.name}_{digest}")
    with _LOCK:
        name, k = base, 1
        while name in _NAMES or hasattr(getattr(torch.ops, NAMESPACE), name):
            k += 1
            name = f"{base}_{k}"
        _NAMES.add(name)

    sig = _Signature(
        kernel_ref=weakref.ref(kernel),
        name=name,
        template=template,
        input_names=input_names,
        mutated=mutated,
        result=result,
        n_out=len(outs),
        clone=frozenset(clone),
    )
    # torch.library.Library rather than torch.library.custom_op: the same schema and fake
    # registration without custom_op's Python autograd and dynamo-disable wrappers, which
    # add host time to every call. Kernels have no backward: Autograd falls through, so outputs
    # do not require grad, as with a direct call (Triton writes into plain tensors).
    rule = kernel.backward_rule
    if forward_only:
        # Only an output can carry the node that refuses a gradient: a kernel that writes its
        # arguments, or returns no tensor, is refused at the call instead.
        grads = [n for n, x in zip(input_names, tensors) if x.requires_grad]
        if mutated or not outs:
            why = (
                f"it writes {', '.join(input_names[i] for i in mutated)}"
                if mutated
                else "it returns no tensor"
            )
            error = no_backward(kernel, grads)
            raise NoBackward(f"{error} ({why}, so no output could refuse the gradient)")
    elif rule is not None and mutated:
        raise InvalidArgument(
            f"{kernel.fn.__name__}: a kernel with a backward may not write its arguments "
            f"(it writes {', '.join(input_names[i] for i in mutated)}); return a new tensor"
        )
    if rule is not None and not outs:
        raise InvalidArgument(
            f"{kernel.fn.__name__}: a kernel with a backward must return a tensor"
        )
    lib = _library()
    lib.define(name + schema)
    lib.impl(name, sig.real, "CompositeExplicitAutograd")
    if forward_only:
        refuse = _Refusal(kernel, input_names)
        torch.library.register_autograd(
            f"{NAMESPACE}::{name}", refuse.backward, setup_context=refuse.setup_context, lib=lib
        )
    elif rule is None:
        # No backward: calls autograd would record go through the forward-only op, so falling
        # through only ever meets calls that need no gradient.
        lib.impl(name, torch.library.fallthrough_kernel, "Autograd")
    else:
        grads = _GradAdapter(kernel, sig, rule)
        torch.library.register_autograd(
            f"{NAMESPACE}::{name}", grads.backward, setup_context=grads.setup_context, lib=lib
        )
    torch.library.register_fake(f"{NAMESPACE}::{name}", sig.fake, lib=lib)
    packet = getattr(getattr(torch.ops, NAMESPACE), name)
    sig.overload = packet.default
    register_formula(packet, sig.flop_formula)
    return sig


# -- autograd ---------------------------------------------------------------------------------


_REFUSE = "refuse_gradient"
_refuse_ready = False


def _refuse_impl(grad: torch.Tensor, kid: int, names: str, size: Any, dtype: Any) -> Any:
    kernel = _KERNELS.get(kid)
    if kernel is None:
        raise NoBackward(f"a kernel without a backward (gone since) computed {names}")
    raise backward_refused(kernel, names.split(","))


def _refuse_fake(grad: torch.Tensor, kid: int, names: str, size: Any, dtype: Any) -> Any:
    return grad.new_empty(size, dtype=dtype)


def _refuse_op() -> Any:
    """``kcompiler::refuse_gradient``: the gradient of an input of a forward-only op. Its real
    implementation raises NoBackward; its fake one gives a tensor of the input's shape, so that
    AOTAutograd can trace a backward that contains it (torch.compile's forward runs) and the
    refusal comes when the compiled backward runs, as in eager mode."""
    global _refuse_ready
    with _LOCK:
        if not _refuse_ready:
            lib = _library()
            lib.define(f"{_REFUSE}(Tensor grad, int kid, str names, SymInt[] size, "
                       "ScalarType dtype) -> Tensor")  # fmt: skip
            lib.impl(_REFUSE, _refuse_impl, "CompositeExplicitAutograd")
            torch.library.register_fake(f"{NAMESPACE}::{_REFUSE}", _refuse_fake, lib=lib)
            _refuse_ready = True
    return getattr(getattr(torch.ops, NAMESPACE), _REFUSE).default


class _Refusal:
    """The forward-only op's autograd formula: each input that needs a gradient gets
    ``refuse_gradient`` of the incoming gradient, which raises NoBackward naming the kernel
    when it runs."""

    def __init__(self, kernel: Kernel, input_names: list[str]):
        self.kid = id(kernel)
        self.input_names = input_names
        self.op = _refuse_op()

    def setup_context(self, ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        ctx.metas = [(tuple(x.shape), x.dtype) for x in inputs]

    def backward(self, ctx: Any, *grads: Any) -> Any:
        grad = next((g for g in grads if g is not None), None)
        needs = ctx.needs_input_grad
        if grad is None:
            return tuple(None for _ in ctx.metas)
        names = ",".join(n for n, need in zip(self.input_names, needs) if need)
        return tuple(
            self.op(grad, self.kid, names, list(size), dtype) if need else None
            for (size, dtype), need in zip(ctx.metas, needs)
        )


@dataclass(frozen=True)
class BackwardRule:
    """A kernel's declared backward (``Kernel.register_backward``)."""

    backward: Callable[..., Any]
    setup_context: Callable[[Any, tuple[Any, ...], Any], None] | None = None


def set_backward(kernel: Kernel, rule: BackwardRule) -> None:
    """Attach ``rule`` to ``kernel``; ops registered before it (with no autograd formula) are
    forgotten, so the next call of each signature registers a new op that has one."""
    with _LOCK:
        kernel.backward_rule = rule
        _SIGNATURES.pop(kernel, None)


def _needs(template: Any, needs: tuple[bool, ...]) -> bool:
    if isinstance(template, _Slot):
        return needs[template.i]
    if type(template) in (list, tuple):
        return any(_needs(x, needs) for x in template)
    if type(template) is dict:
        return any(_needs(x, needs) for x in template.values())
    return False


class _GradAdapter:
    """``register_autograd``'s setup_context and backward for one signature's op, in terms of
    the kernel's parameters and result (see the module docstring, 'Autograd')."""

    def __init__(self, kernel: Kernel, sig: _Signature, rule: BackwardRule):
        self.sig = sig
        self.rule = rule
        self.name = kernel.fn.__name__
        self.signature = kernel.signature
        args_t, kwargs_t = sig.template
        bound = kernel.signature.bind(*args_t, **kwargs_t)
        bound.apply_defaults()
        # Each parameter with its template: _Slot(i) where op input i is (part of) its value.
        self.params = list(bound.arguments.items())
        self.n_in = sum(len(_input_names(t)) for _, t in self.params)

    def setup_context(self, ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        if self.rule.setup_context is None:
            return
        args, kwargs = self.sig.args(inputs)
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        outs = (output,) if self.sig.n_out == 1 else tuple(output)
        result = _fill_result(self.sig.result, outs, inputs)
        self.rule.setup_context(ctx, tuple(bound.arguments.values()), result)

    def backward(self, ctx: Any, *grads: Any) -> tuple[Any, ...]:
        needs = ctx.needs_input_grad
        ctx.needs_input_grad = tuple(_needs(t, needs) for _, t in self.params)
        try:
            got = self.rule.backward(ctx, *grads)
        finally:
            ctx.needs_input_grad = needs
        names = [n for n, _ in self.params]
        if isinstance(got, dict):
            unknown = sorted(set(got) - set(names))
            if unknown:
                raise self._error(f"returned gradients for {unknown}, which are not parameters")
            got = [got.get(n) for n in names]
        elif len(names) == 1 and not (isinstance(got, tuple) and len(got) == 1):
            got = [got]  # a one-parameter kernel's gradient, bare (a list for a list argument)
        elif not isinstance(got, (tuple, list)) or len(got) != len(names):
            n = len(got) if isinstance(got, (tuple, list)) else type(got).__name__
            raise self._error(
                f"returned {n} gradient(s); it must return one per parameter "
                f"({', '.join(names)}), None where there is none, or a dict by name"
            )
        out: list[Any] = [None] * len(self.sig.input_names)
        for (n, template), g in zip(self.params, got):
            self._place(template, g, out, n)
        return tuple(out)

    def _place(self, template: Any, g: Any, out: list[Any], where: str) -> None:
        if g is None:
            return
        if isinstance(template, _Slot):
            if not isinstance(g, torch.Tensor):
                raise self._error(f"returned a {type(g).__name__} as the gradient of {where!r}")
            out[template.i] = g
        elif type(template) in (list, tuple) and _has_slot(template):
            if not isinstance(g, (list, tuple)) or len(g) != len(template):
                raise self._error(
                    f"the gradient of {where!r} must be a sequence of {len(template)}"
                )
            for k, (t, x) in enumerate(zip(template, g)):
                self._place(t, x, out, f"{where}[{k}]")
        elif type(template) is dict and _has_slot(template):
            if not isinstance(g, dict):
                raise self._error(f"the gradient of {where!r} must be a dict")
            for k, t in template.items():
                self._place(t, g.get(k), out, f"{where}[{k!r}]")
        else:
            raise self._error(f"returned a gradient for {where!r}, which holds no tensor")

    def _error(self, message: str) -> InvalidArgument:
        return InvalidArgument(f"the backward of kernel {self.name!r} {message}")


def dispatch(kernel: Kernel, args: Any, kwargs: dict[str, Any], forward_only: bool = False) -> Any:
    """Call ``kernel`` through the custom op of this call's signature (``forward_only``: its
    forward-only op, see the module docstring)."""
    tensors: list[torch.Tensor] = []
    key = _call_key(args, kwargs, tensors)
    if forward_only:
        key = ("forward-only", key)
    table = _SIGNATURES.get(kernel)
    sig = table.get(key) if table is not None else None
    if sig is None:
        sig = _signature(kernel, key, args, kwargs, forward_only)
    outs = sig.overload(*tensors)
    if sig.n_out == 1:
        outs = (outs,)
    return _fill_result(sig.result, outs or (), tensors)


def _signature(
    kernel: Kernel, key: Any, args: Any, kwargs: dict[str, Any], forward_only: bool = False
) -> _Signature:
    with _LOCK:
        table = _SIGNATURES.get(kernel)
        if table is None:
            table = _SIGNATURES[kernel] = {}
        sig = table.get(key)
        if sig is None:
            tensors: list[torch.Tensor] = []
            _, template = _split((tuple(args), dict(kwargs)), tensors)
            sig = table[key] = _register(kernel, key, template, tensors, forward_only)
        return sig


def op_for(kernel: Kernel, *args: Any, **kwargs: Any) -> Any:
    """The ``OpOverload`` a call with these arguments goes through (registering it)."""
    key = _call_key(args, kwargs, [])
    return _signature(kernel, key, args, kwargs).overload


__all__ = [
    "ENABLED",
    "NAMESPACE",
    "BackwardRule",
    "analyze",
    "backward_refused",
    "call_forward_only",
    "dispatch",
    "grad_arguments",
    "grad_routing",
    "no_backward",
    "op_for",
    "register",
    "routing",
    "run_host_only",
    "set_backward",
    "wants_grad",
]

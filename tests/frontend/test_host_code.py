"""Host code is ordinary Python: everything outside device loops runs as written.

A kernel's body may hold any statements before, between and after its device loops (asserts,
size arithmetic, allocations, host control flow, helper functions); several device loops may
feed each other; results may be tuples; kernels may be defined anywhere and close over local
variables. Every decorator form builds the same thing.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import kcompiler as kc
import kcompiler.language as kl
from kcompiler.testing import assert_matches_torch


def _double(n: int) -> int:
    """A module-level helper called from host code."""
    return 2 * n


# -- statements around device loops --------------------------------------------------------------


@kc.kernel
def many_statements(x: torch.Tensor, w: torch.Tensor, scale: float = 2.0) -> torch.Tensor:
    assert x.dim() == 2, "x must be 2-D"
    m, n = x.shape
    rows = x.size(0)
    cols = x.size(1)
    assert (rows, cols) == (m, n)
    assert w.shape == (n,), f"w has shape {tuple(w.shape)}"
    total = m * n
    half_scale = scale / 2
    ratio = total // max(n, 1)
    assert ratio == m
    out = torch.empty([rows, cols], dtype=x.dtype, device=x.device)
    for tile_m in kl.tile(m):
        out[tile_m, :] = x[tile_m, :] * w[:] * half_scale
    sizes = [int(s) for s in out.shape]
    assert sizes == [m, n]
    return out


def test_many_statements_before_and_after_a_loop() -> None:
    x, w = torch.randn(13, 17), torch.randn(17)
    assert_matches_torch(many_statements, lambda x, w, s=2.0: x * w * (s / 2), x, w)
    assert_matches_torch(many_statements, lambda x, w, s: x * w * (s / 2), x, w, 5.0)


def test_host_assert_raises_the_kernels_own_assertion() -> None:
    with pytest.raises(AssertionError, match=r"w has shape \(18,\)"):
        many_statements(torch.randn(13, 17), torch.randn(18))
    with pytest.raises(AssertionError, match="x must be 2-D"):
        many_statements(torch.randn(17), torch.randn(17))


@kc.kernel
def two_loops_chained(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    m, n = x.size()
    row_max = torch.empty([m], dtype=torch.float32, device=x.device)
    for tile_m in kl.tile(m):
        row_max[tile_m] = torch.amax(x[tile_m, :].to(torch.float32), dim=1)
    # Host code between the loops: an allocation and a host-side tensor op on loop 1's output.
    shift = row_max.clamp(min=0.0)
    out = torch.empty_like(x)
    for tile_m, tile_n in kl.tile([m, n]):
        out[tile_m, tile_n] = (x[tile_m, tile_n] - shift[tile_m][:, None]).to(x.dtype)
    return out, row_max


def test_two_device_loops_one_feeding_the_next() -> None:
    def ref(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mx = x.float().amax(1)
        return (x.float() - mx.clamp(min=0.0)[:, None]).to(x.dtype), mx

    assert_matches_torch(two_loops_chained, ref, torch.randn(9, 40))
    assert_matches_torch(two_loops_chained, ref, torch.randn(3, 1000).half())
    assert len(two_loops_chained.program.loops) == 2


@kc.kernel
def loop_in_host_for(x: torch.Tensor, times: int) -> torch.Tensor:
    cur = x.clone()
    nxt = torch.empty_like(x)
    for step in range(times):  # a host loop around a device loop: one launch per step
        for tile in kl.tile(x.size(0)):
            nxt[tile] = cur[tile] * 2.0 + step
        cur, nxt = nxt, cur
    return cur


def test_device_loop_inside_a_host_for_loop() -> None:
    def ref(x: torch.Tensor, times: int) -> torch.Tensor:
        for step in range(times):
            x = x * 2.0 + step
        return x

    x = torch.randn(37)
    for times in (0, 1, 4):
        assert_matches_torch(loop_in_host_for, ref, x, times)


@kc.kernel
def loop_in_host_if(x: torch.Tensor, negate: bool) -> torch.Tensor:
    out = torch.empty_like(x)
    if negate:
        for tile in kl.tile(x.size(0)):
            out[tile] = -x[tile]
    else:
        for tile in kl.tile(x.size(0)):
            out[tile] = x[tile] + 1.0
    return out


def test_device_loops_in_host_if_branches() -> None:
    x = torch.randn(21)
    assert_matches_torch(loop_in_host_if, lambda x, neg: -x, x, True)
    assert_matches_torch(loop_in_host_if, lambda x, neg: x + 1.0, x, False)


@kc.kernel
def host_control_flow(x: torch.Tensor) -> torch.Tensor:
    # while, try, comprehensions and a nested helper function are fine in host code.
    n = x.numel()
    block = 1
    while block < n:
        block *= 2
    try:
        pad = {4: 0}[block - n]
    except KeyError:
        pad = block - n

    def plus_pad(v: int) -> int:
        return v + pad

    padded = torch.zeros([plus_pad(n)], dtype=x.dtype, device=x.device)
    squares = [i * i for i in range(3)]
    for tile in kl.tile(n):
        padded[tile] = x[tile] + squares[2]
    return padded


def test_host_while_try_and_nested_function() -> None:
    def ref(x: torch.Tensor) -> torch.Tensor:
        n = x.numel()
        block = 1 << (n - 1).bit_length()
        return torch.cat([x + 4.0, torch.zeros(block - n)])

    assert_matches_torch(host_control_flow, ref, torch.randn(5))
    assert_matches_torch(host_control_flow, ref, torch.randn(17))


@kc.kernel
def sizes_from_host_helpers(x: torch.Tensor) -> torch.Tensor:
    (n,) = x.shape
    m = _double(n)
    out = torch.zeros([m], dtype=x.dtype, device=x.device)
    for tile in kl.tile(n):
        out[tile] = x[tile] * len(x.shape)
    return out[: x.numel()] + out[x.numel() :]


def test_module_level_helper_and_shape_arithmetic() -> None:
    assert_matches_torch(sizes_from_host_helpers, lambda x: x, torch.randn(19))


@kc.kernel
def tuple_of_three(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    m, n = x.shape
    total = torch.empty([m], dtype=torch.float32, device=x.device)
    biggest = torch.empty([m], dtype=torch.float32, device=x.device)
    for tile_m in kl.tile(m):
        v = x[tile_m, :].to(torch.float32)
        total[tile_m] = v.sum(-1)
        biggest[tile_m] = v.amax(-1)
    return total, biggest, m * n


def test_tuple_return_with_a_python_int() -> None:
    x = torch.randn(6, 33)
    got = assert_matches_torch(
        tuple_of_three, lambda x: (x.sum(-1), x.amax(-1), x.numel()), x, atol=1e-5
    )
    assert isinstance(got, tuple) and len(got) == 3 and got[2] == 6 * 33


@kc.kernel
def keyword_arguments(
    x: torch.Tensor, *, alpha: float = 1.0, beta: torch.Tensor | None = None
) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        if beta is not None:
            out[tile] = x[tile] * alpha + beta[tile]
        else:
            out[tile] = x[tile] * alpha
    return out


def test_keyword_only_and_default_arguments() -> None:
    x, b = torch.randn(11), torch.randn(11)
    assert_matches_torch(keyword_arguments, lambda x: x, x)
    assert_matches_torch(keyword_arguments, lambda x, alpha: x * alpha, x, alpha=3.0)
    assert_matches_torch(
        keyword_arguments, lambda x, alpha, beta: x * alpha + beta, x, alpha=-2.0, beta=b
    )


# -- the layer_norm shape: a host function of two top-level statements ------------------------


@kc.kernel
def layer_norm_two_statements(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, out: torch.Tensor
) -> torch.Tensor:
    for tile_m in kl.tile(x.size(0)):
        acc = x[tile_m, :].to(torch.float32)
        mean_val = torch.sum(acc, dim=-1) / x.size(1)
        centered = acc - mean_val[:, None]
        var_val = torch.sum(centered * centered, dim=-1) / x.size(1)
        normalized = centered * torch.rsqrt(var_val + 1e-5)[:, None]
        out[tile_m, :] = (normalized * weight[:].to(torch.float32) + bias[:]).to(out.dtype)
    return out


def test_layer_norm_shaped_kernel_with_two_top_level_statements() -> None:
    """The seed log's Helion crash: `(root,) = root.body` on a host function of this shape."""
    x, w, b = torch.randn(7, 1000), torch.randn(1000), torch.randn(1000)

    def ref(x, w, b, out):  # noqa: ANN001, ANN202
        return torch.nn.functional.layer_norm(x, [x.size(1)], w, b, 1e-5)

    got = assert_matches_torch(layer_norm_two_statements, ref, x, w, b, torch.empty_like(x))
    assert got.shape == (7, 1000)
    assert len(layer_norm_two_statements.program.loops) == 1


def test_layer_norm_shaped_kernel_source_with_extra_top_level_statements(tmp_path) -> None:  # noqa: ANN001
    """A kernel read from a module whose source has other top-level statements around it."""
    namespace: dict[str, object] = {}
    source = (
        "import torch\n"
        "import kcompiler as kc\n"
        "import kcompiler.language as kl\n"
        "def ln(x, out):\n"
        "    for tile_m in kl.tile(x.size(0)):\n"
        "        out[tile_m, :] = x[tile_m, :] - torch.mean(x[tile_m, :], dim=-1)[:, None]\n"
        "    return out\n"
        "after_the_kernel = 1\n"
    )
    path = tmp_path / "ln_module.py"
    path.write_text(source)  # inspect.getsource reads kernels back from their file
    code = compile(source, str(path), "exec")
    exec(code, namespace)
    k = kc.kernel(namespace["ln"])
    x = torch.randn(4, 17)
    assert_matches_torch(k, lambda x, out: x - x.mean(-1, keepdim=True), x, torch.empty_like(x))


# -- kernels defined in a test, closing over its locals ------------------------------------------


def test_kernel_defined_in_a_function_uses_closure_variables_on_the_host() -> None:
    scale = 3.5
    offset = torch.randn(23)

    def host_helper(n: int) -> int:
        return n

    @kc.kernel
    def scaled(x: torch.Tensor) -> torch.Tensor:
        n = host_helper(x.size(0))
        s, off = scale, offset  # closure variables read by host code
        out = torch.empty_like(x)
        for t in kl.tile(n):
            out[t] = x[t] * s + off[t]
        return out

    x = torch.randn(23)
    assert_matches_torch(scaled, lambda x: x * scale + offset, x)
    assert len(scaled.program.loops) == 1


def test_kernel_defined_in_a_function_uses_closure_variables_in_device_code() -> None:
    scale = 3.5
    offset = torch.randn(23)

    @kc.kernel
    def scaled(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for t in kl.tile(x.size(0)):
            out[t] = x[t] * scale + offset[t]
        return out

    x = torch.randn(23)
    assert_matches_torch(scaled, lambda x: x * scale + offset, x)


def test_closure_alias_of_kl_tile_marks_a_device_loop() -> None:
    tile = kl.tile  # host.py resolves closure names when it finds device loops

    @kc.kernel
    def plus_one(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for t in tile(x.size(0)):
            out[t] = x[t] + 1.0
        return out

    assert len(plus_one.program.loops) == 1
    assert_matches_torch(plus_one, lambda x: x + 1.0, torch.randn(23))


def test_closure_kernels_are_independent() -> None:
    def make(factor: float) -> kc.Kernel:
        @kc.kernel()
        def mul(x: torch.Tensor) -> torch.Tensor:
            f = factor
            out = torch.empty_like(x)
            for t in kl.tile(x.size(0)):
                out[t] = x[t] * f
            return out

        return mul

    x = torch.randn(40)
    twice, thrice = make(2.0), make(3.0)
    assert_matches_torch(twice, lambda x: x * 2.0, x)
    assert_matches_torch(thrice, lambda x: x * 3.0, x)
    assert_matches_torch(twice, lambda x: x * 2.0, x)


# -- decorator forms ------------------------------------------------------------------------------


def _body(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for t in kl.tile(x.size(0)):
        out[t] = torch.exp(x[t]) - 1.0
    return out


def _reference(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x) - 1.0


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda f: kc.kernel(f), id="@kc.kernel"),
        pytest.param(lambda f: kc.kernel()(f), id="@kc.kernel()"),
        pytest.param(
            lambda f: kc.kernel(config=kc.Config(block_sizes=[16], num_warps=2))(f),
            id="@kc.kernel(config=...)",
        ),
        pytest.param(lambda f: kc.kernel(config={"block_sizes": [8]})(f), id="config=dict"),
        pytest.param(
            lambda f: kc.kernel(configs=[kc.Config(block_sizes=[32])])(f), id="configs=[...]"
        ),
        pytest.param(lambda f: kc.kernel(static_shapes=True)(f), id="static_shapes=True"),
        pytest.param(
            lambda f: kc.kernel(ignore_warnings=[kc.exc.TensorOperationInWrapper])(f),
            id="ignore_warnings",
        ),
        pytest.param(lambda f: kc.Kernel(f), id="kc.Kernel(f)"),
    ],
)
def test_decorator_forms(make) -> None:  # noqa: ANN001
    k = make(_body)
    assert isinstance(k, kc.Kernel)
    assert k.__name__ == "_body" and k.__doc__ == _body.__doc__
    for n in (1, 17, 1000):
        assert_matches_torch(k, _reference, torch.randn(n))


def test_decorator_config_is_used() -> None:
    k = kc.kernel(config=kc.Config(block_sizes=[16], num_warps=2))(_body)
    k(torch.randn(100))
    assert [c.block_sizes for c in k.compiled_variants()] == [{"block_0": 16}]
    assert "num_warps=2" in k.to_triton_code(torch.randn(100))


def test_configs_list_uses_the_first_config() -> None:
    k = kc.kernel(configs=[kc.Config(block_sizes=[4]), kc.Config(block_sizes=[64])])(_body)
    k(torch.randn(100))
    assert [c.block_sizes for c in k.compiled_variants()] == [{"block_0": 4}]


def test_static_shapes_bakes_sizes_in() -> None:
    dynamic = kc.kernel(_body)
    static = kc.kernel(static_shapes=True)(_body)
    # 40 and 56 share a power-of-two bucket and their divisor 8: one dynamic variant, two
    # static ones.
    for n in (40, 56):
        assert_matches_torch(dynamic, _reference, torch.randn(n))
        assert_matches_torch(static, _reference, torch.randn(n))
    assert len(dynamic.compiled_variants()) == 1
    assert len(static.compiled_variants()) == 2
    assert "40" in static.to_triton_code(torch.randn(40))


def test_ignore_warnings_form_runs_host_tensor_ops_quietly() -> None:
    @kc.kernel(ignore_warnings=[kc.exc.TensorOperationInWrapper])
    def centered_sum(x: torch.Tensor) -> torch.Tensor:
        centered = x - x.mean()  # a tensor op in host code
        out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
        for t in kl.tile(x.size(0)):
            out[t] = centered[t, :].sum(-1)
        return out.sum()  # and another after the loop

    x = torch.randn(9, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", kc.exc.TensorOperationInWrapper)
        assert_matches_torch(centered_sum, lambda x: (x - x.mean()).sum(-1).sum(), x, atol=1e-4)


# -- callables passed to a kernel ----------------------------------------------------------------


@kc.kernel(
    # A decorator option holding a lambda: evaluated where the kernel is defined, its
    # parameter names are not host reads of the device loop's names.
    configs=[kc.Config()] if (lambda x: x)(True) else None,
)
def with_epilogue(x: torch.Tensor, epilogue: object = lambda acc, tile: acc * 2.0) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        acc = x[tile] + 1.0
        out[tile] = epilogue(acc, tile)  # type: ignore[operator]
    return out


def test_lambda_default_and_callable_arguments_are_inlined() -> None:
    x = torch.randn(37)
    assert_matches_torch(with_epilogue, lambda x: (x + 1.0) * 2.0, x)
    assert_matches_torch(
        lambda x: with_epilogue(x, lambda acc, tile: torch.relu(acc)),
        lambda x: torch.relu(x + 1.0),
        x,
    )


def test_host_code_reading_a_device_name_still_fails() -> None:
    @kc.kernel
    def leaks(x: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        for tile in kl.tile(x.size(0)):
            acc = x[tile]
            out[tile] = acc
        scale = lambda y: y * acc  # noqa: E731 - acc is the device loop's, not the lambda's
        return scale(out)

    with pytest.raises(kc.exc.CompileError, match="'acc' is defined inside a device loop") as e:
        leaks(torch.randn(5))
    assert "test_host_code.py" in str(e.value)


def test_tensors_captured_by_a_callable_become_kernel_arguments() -> None:
    x = torch.randn(37)
    for stride in (1, 1, 2):  # the same lambda code over new tensors, then a strided one
        bias = torch.randn(37 * stride)[::stride]
        torch.testing.assert_close(
            with_epilogue(x, lambda acc, tile: acc + bias[tile]),  # noqa: B023
            (x + 1.0) + bias,
        )

    def scaled_bias(acc: torch.Tensor, tile: object) -> torch.Tensor:
        return torch.relu(acc * 0.5 + bias[tile])  # type: ignore[index]

    torch.testing.assert_close(with_epilogue(x, scaled_bias), torch.relu((x + 1.0) * 0.5 + bias))


GLOBAL_BIAS = torch.randn(37)


def test_a_callable_reading_a_global_tensor_is_refused_by_name() -> None:
    with pytest.raises(kc.exc.UnsupportedConstruct, match="reads tensor 'GLOBAL_BIAS'") as e:
        with_epilogue(torch.randn(37), lambda acc, tile: acc + GLOBAL_BIAS[tile])
    assert "test_host_code.py" in str(e.value)


@kc.kernel
def apply_fn(x: torch.Tensor, fn: object) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in kl.tile(x.size(0)):
        out[tile] = fn(x[tile])  # type: ignore[operator]
    return out


def test_a_lambda_made_per_call_is_keyed_by_what_it_computes() -> None:
    # Each call's lambda is freed after the call, and the next one often gets its address:
    # a key made of the function's id returned the first lambda's kernel for every k.
    x = torch.randn(19)
    for k in (1.0, 2.0, 3.0, -0.5):
        torch.testing.assert_close(apply_fn(x, lambda v: v * k), x * k)  # noqa: B023

    def shifted(c: float):  # noqa: ANN202
        return lambda v, scale=2.0: v * scale + c

    for c in (0.0, 1.5):
        torch.testing.assert_close(apply_fn(x, shifted(c)), x * 2.0 + c)


def test_a_captured_tensor_that_requires_grad_is_never_silently_detached() -> None:
    x = torch.randn(37)
    for needs_grad in (False, True):  # the same lambda code: the fast path must not hide it
        bias = torch.randn(37, requires_grad=needs_grad)
        try:
            out = with_epilogue(x, lambda acc, tile: acc + bias[tile])  # noqa: B023
        except kc.exc.NoBackward as e:
            assert needs_grad and "bias" in str(e)
            continue
        if not needs_grad:
            torch.testing.assert_close(out, (x + 1.0) + bias)
            continue
        # A forward-only result is allowed only if its backward fails loudly.
        assert out.requires_grad
        with pytest.raises(kc.exc.NoBackward):
            out.sum().backward()

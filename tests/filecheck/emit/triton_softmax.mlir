// RUN: kc-opt %s -p shape-inference -t triton | filecheck %s
// RUN: kc-opt %s -p shape-inference --emit "triton{block-sizes=16 num-warps=8}" | filecheck %s --check-prefix=CONFIG

// Softmax over the rows of x (what `kl.tile(n)` + `torch.softmax(x[tile, :], dim=1)` traces
// to), with result types left for shape-inference. `-t triton` (or `--emit triton`) prints
// the @triton.jit kernel and its launcher; block sizes default to default_block_sizes (the
// size hints ask for 8 rows of 100), `triton{block-sizes=... num-warps=...}` overrides them.

builtin.module {
  tile.kernel @softmax_kernel(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0, s1], f32>) attributes {size_hints = {s0 = 8 : i64, s1 = 100 : i64}} {
    %n = tile.size "s0" {loc = "softmax.py:15"} : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 {loc = "softmax.py:15"} : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel attributes {loc = "softmax.py:15"} {
      %v = tile.load %x[%t] ["tile", "full"] {loc = "softmax.py:16"} : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<?>
      %max = tile.reduce "max" %v dim 1 : i64 keepdim {loc = "softmax.py:16"} : !tile.block<?> -> !tile.block<?>
      %shifted = tile.binary "sub" %v, %max {loc = "softmax.py:16"} : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %e = tile.unary "exp" %shifted {loc = "softmax.py:16"} : !tile.block<?> -> !tile.block<?>
      %sum = tile.reduce "sum" %e dim 1 : i64 keepdim {loc = "softmax.py:16"} : !tile.block<?> -> !tile.block<?>
      %p = tile.binary "div" %e, %sum {loc = "softmax.py:16"} : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      tile.store %p, %out[%t] ["tile", "full"] {loc = "softmax.py:16"} : !tile.block<?>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK:       @triton.jit
// CHECK-NEXT:  def _kc_nanmax(a, b):
// CHECK-NEXT:      return tl.maximum(a, b, propagate_nan=tl.PropagateNan.ALL)
// CHECK:       @triton.jit
// CHECK-NEXT:  def softmax_kernel(
// CHECK-NEXT:      x_ptr,
// CHECK-NEXT:      out_ptr,
// CHECK:           BLOCK_0: tl.constexpr,
// CHECK-NEXT:      RDIM_S1: tl.constexpr,
// CHECK-NEXT:  ):
// CHECK-NEXT:      pid = tl.program_id(0)
// CHECK:           mask_1 = offs_1 < s0
// CHECK-NEXT:      [[X:v[0-9]+]] = tl.load(x_ptr + {{.*}}, mask={{.*}}mask_1{{.*}}(tl.arange(0, RDIM_S1) < s1){{.*}}, other=0.0)
// CHECK-NEXT:      [[XM:t[0-9]+]] = tl.where({{.*}}, [[X]], float('-inf'))
// CHECK-NEXT:      [[MAX:v[0-9]+]] = tl.reduce([[XM]], 1, _kc_nanmax, keep_dims=True)
// CHECK-NEXT:      [[SH:v[0-9]+]] = [[X]] - [[MAX]]
// CHECK-NEXT:      [[E:v[0-9]+]] = tl.exp([[SH]])
// CHECK-NEXT:      [[EM:t[0-9]+]] = tl.where({{.*}}, [[E]], 0)
// CHECK-NEXT:      [[SUM:v[0-9]+]] = tl.sum([[EM]], axis=1, keep_dims=True)
// CHECK-NEXT:      [[P:v[0-9]+]] = [[E]] / [[SUM]]
// CHECK-NEXT:      tl.store(out_ptr + {{.*}}, [[P]], mask={{.*}})
// CHECK:       def launch_softmax_kernel(x, out, _kc_launch=None):
// CHECK-NEXT:      s0 = x.shape[0]
// CHECK-NEXT:      s1 = x.shape[1]
// CHECK-NEXT:      num_tiles = (-((0 - s0) // 8))
// CHECK:           softmax_kernel[(num_tiles,)]({{.*}}, BLOCK_0=8, RDIM_S1=128, num_warps=4, num_stages=1)

// CONFIG:      num_tiles = (-((0 - s0) // 16))
// CONFIG:      softmax_kernel[(num_tiles,)]({{.*}}, BLOCK_0=16, RDIM_S1=128, num_warps=8, num_stages=1)

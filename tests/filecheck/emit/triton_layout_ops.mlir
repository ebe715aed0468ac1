// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// tile.permute (.T, transpose, permute), tile.broadcast (expand, expand_as) and the float
// unaries floor/ceil/log1p/expm1 print and parse back unchanged, and lower to tl.permute,
// tl.broadcast_to, tl.floor, and log1p/expm1 from tl.log/tl.exp with the exact branch where
// 1 + x (or exp(x)) rounds to 1.

builtin.module {
  tile.kernel @layout(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s1, s0], f32>) attributes {size_hints = {s0 = 8 : i64, s1 = 100 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %r = tile.reduce "max" %v dim 1 : i64 keepdim : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 1], f32>
      %b = tile.broadcast %r to ["block_0", "s1"] : !tile.block<[block_0, 1], f32> -> !tile.block<[block_0, s1], f32>
      %f = tile.unary "floor" %b : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %l = tile.unary "log1p" %f : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %e = tile.unary "expm1" %l : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %p = tile.permute %e perm [1 : i64, 0 : i64] : !tile.block<[block_0, s1], f32> -> !tile.block<[s1, block_0], f32>
      tile.store %p, %out[%t] ["full", "tile"] : !tile.block<[s1, block_0], f32>, !tile.tensor<[s1, s0], f32>, !tile.tile<block_0>
    }
  }
}

// IR:      tile.broadcast %{{.*}} to ["block_0", "s1"] : !tile.block<[block_0, 1], f32> -> !tile.block<[block_0, s1], f32>
// IR:      tile.unary "floor"
// IR:      tile.permute %{{.*}} perm [1 : i64, 0 : i64] : !tile.block<[block_0, s1], f32> -> !tile.block<[s1, block_0], f32>

// CHECK:      [[R:v[0-9]+]] = tl.reduce({{.*}}, 1, _kc_nanmax, keep_dims=True)
// CHECK-NEXT: [[B:v[0-9]+]] = tl.broadcast_to([[R]], (BLOCK_0, RDIM_S1))
// CHECK-NEXT: [[F:v[0-9]+]] = tl.floor([[B]])
// CHECK-NEXT: [[X:t[0-9]+]] = [[F]]
// CHECK-NEXT: [[U:t[0-9]+]] = 1.0 + [[X]]
// CHECK-NEXT: [[L:v[0-9]+]] = tl.where([[U]] == 1.0, [[X]], tl.where([[U]] == float('inf'), [[U]], tl.log([[U]]) * ([[X]] / ([[U]] - 1.0))))
// CHECK-NEXT: [[Y:t[0-9]+]] = [[L]]
// CHECK-NEXT: [[E:t[0-9]+]] = tl.exp([[Y]])
// CHECK-NEXT: [[M:v[0-9]+]] = tl.where([[E]] == 1.0, [[Y]], tl.where([[E]] == float('inf'), [[E]], tl.where([[E]] - 1.0 == -1.0, -1.0, ([[E]] - 1.0) * ([[Y]] / tl.log([[E]])))))
// CHECK-NEXT: [[P:v[0-9]+]] = tl.permute([[M]], (1, 0))
// CHECK-NEXT: tl.store(out_ptr + tl.arange(0, RDIM_S1)[:, None] * out_stride_0 + offs_1[None, :] * out_stride_1, [[P]],

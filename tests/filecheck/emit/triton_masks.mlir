// RUN: kc-opt %s --split-input-file -t "triton{block-sizes=16}" | filecheck %s

// Bounds masks of loads and stores: one term per masked dim, each laid out along its own
// axis and parenthesized, joined by `&`. A unit dim has no mask and does not end the list
// (the full dim after it keeps its mask); a dim that occurs twice in one access (w[:, :] of an
// [n, n] tensor) gets its own mask once per axis.

builtin.module {
  tile.kernel @unit_between(%x: !tile.tensor<[s0, 1, s1], f32>, %out: !tile.tensor<[s0, 1, s1], f32>) attributes {size_hints = {s0 = 5 : i64, s1 = 37 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile", "full", "full"] : !tile.tensor<[s0, 1, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, 1, s1], f32>
      tile.store %v, %out[%t] ["tile", "full", "full"] : !tile.block<[block_0, 1, s1], f32>, !tile.tensor<[s0, 1, s1], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: def unit_between(
// CHECK:       mask_1 = offs_1 < s0
// CHECK-NEXT:  [[V:v[0-9]+]] = tl.load(x_ptr + {{.*}}, mask=(mask_1[:, None, None]) & ((tl.arange(0, RDIM_S1) < s1)[None, None, :]), other=0.0)
// CHECK-NEXT:  tl.store(out_ptr + {{.*}}, [[V]], mask=(mask_1[:, None, None]) & ((tl.arange(0, RDIM_S1) < s1)[None, None, :]))

// -----

builtin.module {
  tile.kernel @square(%w: !tile.tensor<[s1, s1], f32>, %out: !tile.tensor<[s1, s1], f32>) attributes {size_hints = {s1 = 67 : i64}} {
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    %one = tile.constant 1 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %one block block_0 kind tile parallel {
      %v = tile.load %w[] ["full", "full"] : !tile.tensor<[s1, s1], f32>, -> !tile.block<[s1, s1], f32>
      tile.store %v, %out[] ["full", "full"] : !tile.block<[s1, s1], f32>, !tile.tensor<[s1, s1], f32>,
    }
  }
}

// CHECK-LABEL: def square(
// CHECK:       [[V:v[0-9]+]] = tl.load(w_ptr + tl.arange(0, RDIM_S1)[:, None] * w_stride_0 + tl.arange(0, RDIM_S1)[None, :] * w_stride_1, mask=((tl.arange(0, RDIM_S1) < s1)[:, None]) & ((tl.arange(0, RDIM_S1) < s1)[None, :]), other=0.0)
// CHECK-NEXT:  tl.store(out_ptr + {{.*}}, [[V]], mask=((tl.arange(0, RDIM_S1) < s1)[:, None]) & ((tl.arange(0, RDIM_S1) < s1)[None, :]))

// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// An access's extra mask (kl.load/kl.store(..., extra_mask=m)) prints after the index kinds,
// parses back, and is ANDed into the access's own bounds mask; a masked access is always a
// pointer access.

builtin.module {
  tile.kernel @masked(%x: !tile.tensor<[s0], f32>, %out: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 100 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    %half = tile.constant 5.000000e-01 : f32 : !tile.block<[], f32>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %i = tile.index %t : !tile.tile<block_0> -> !tile.block<[block_0], i64>
      %c3 = tile.constant 3 : i64 : !tile.block<[], i64>
      %m = tile.binary "ge" %i, %c3 : !tile.block<[block_0], i64>, !tile.block<[], i64> -> !tile.block<[block_0], i1>
      %v = tile.load %x[%t] ["tile"] mask %m : !tile.block<[block_0], i1> : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      %w = tile.binary "mul" %v, %half : !tile.block<[block_0], f32>, !tile.block<[], f32> -> !tile.block<[block_0], f32>
      %p = tile.binary "gt" %v, %half : !tile.block<[block_0], f32>, !tile.block<[], f32> -> !tile.block<[block_0], i1>
      tile.store %w, %out[%t] ["tile"] mask %p : !tile.block<[block_0], i1> : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// IR:      tile.load %x[%{{.*}}] ["tile"] mask %{{.*}} : !tile.block<[block_0], i1> : !tile.tensor<[s0], f32>
// IR:      tile.store %{{.*}}, %out[%{{.*}}] ["tile"] mask %{{.*}} : !tile.block<[block_0], i1> :

// CHECK:      [[M:v[0-9]+]] = offs_{{[0-9]+}} >= 3
// CHECK:      [[V:v[0-9]+]] = tl.load(x_ptr + offs_{{[0-9]+}} * x_stride_0, mask=(mask_{{[0-9]+}}) & ([[M]]), other=0.0)
// CHECK:      [[P:v[0-9]+]] = [[V]] > 0.5
// CHECK:      tl.store(out_ptr + offs_{{[0-9]+}} * out_stride_0, v{{[0-9]+}}, mask=(mask_{{[0-9]+}}) & ([[P]]))

// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// tile.reshape that splits a dim ([s1] -> [2, s2], rope's halves) and merges it back prints
// and parses unchanged and lowers to tl.reshape over the register extents. It is legal because
// the kernel promises s1 and s2 are powers of two (size_divisors equal to size_hints): no
// padding lanes, so the row-major reshape of the registers is torch's (the dims that cannot
// split are in kc-opt/reshape_errors.mlir).

builtin.module {
  tile.kernel @halves(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0, s1], f32>) attributes {size_hints = {s0 = 37 : i64, s1 = 16 : i64, s2 = 8 : i64}, size_divisors = {s0 = 1 : i64, s1 = 16 : i64, s2 = 8 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %s = tile.reshape %v to ["block_0", "2", "s2"] : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 2, s2], f32>
      %p = tile.permute %s perm [0 : i64, 2 : i64, 1 : i64] : !tile.block<[block_0, 2, s2], f32> -> !tile.block<[block_0, s2, 2], f32>
      %m = tile.reshape %p to ["block_0", "1", "s1"] : !tile.block<[block_0, s2, 2], f32> -> !tile.block<[block_0, 1, s1], f32>
      %r = tile.reshape %m to ["block_0", "s1"] : !tile.block<[block_0, 1, s1], f32> -> !tile.block<[block_0, s1], f32>
      tile.store %r, %out[%t] ["tile", "full"] : !tile.block<[block_0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
    }
  }
}

// IR:      tile.reshape %{{.*}} to ["block_0", "2", "s2"] : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 2, s2], f32>
// IR:      tile.reshape %{{.*}} to ["block_0", "1", "s1"] : !tile.block<[block_0, s2, 2], f32> -> !tile.block<[block_0, 1, s1], f32>

// CHECK:      [[V:v[0-9]+]] = tl.load(
// CHECK-NEXT: [[S:v[0-9]+]] = tl.reshape([[V]], (BLOCK_0, 2, RDIM_S2))
// CHECK-NEXT: [[P:v[0-9]+]] = tl.permute([[S]], (0, 2, 1))
// CHECK-NEXT: [[M:v[0-9]+]] = tl.reshape([[P]], (BLOCK_0, 1, RDIM_S1))
// CHECK-NEXT: [[R:v[0-9]+]] = tl.reshape([[M]], (BLOCK_0, RDIM_S1))
// CHECK-NEXT: tl.store({{.*}}, [[R]], mask=

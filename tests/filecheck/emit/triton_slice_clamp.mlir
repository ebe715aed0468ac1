// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// int4_gemm's unpacking: a block the host code fixed (block_values, kl.register_block_size)
// is exact, so [block_0, 2, s1] merges into [8, s1] when block_0 is 4; and a bounded slice
// out[2 * begin : 2 * begin + 8, :] is an `outer` run of positions whose store is masked where
// the run passes out's end (torch's clamping; the last tile of a ragged k), while a negative
// position would still fail the bounds check.

builtin.module {
  tile.kernel @interleave_kernel(%lo: !tile.tensor<[s0, s1], f32>, %hi: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s2, s1], f32>) attributes {size_hints = {s0 = 13 : i64, s1 = 5 : i64, s2 = 26 : i64}, size_divisors = {s0 = 1 : i64, s1 = 1 : i64, s2 = 2 : i64}, block_values = {block_0 = 4 : i64}} {
    %0 = tile.size "s0" : !tile.block<[], i64>
    %1 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %2 = %1 to %0 block block_0 kind tile parallel {
      %3 = tile.load %lo[%2] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %4 = tile.load %hi[%2] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %5 = tile.join %3, %4 : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1, 2], f32>
      %6 = tile.permute %5 perm [0 : i64, 2 : i64, 1 : i64] : !tile.block<[block_0, s1, 2], f32> -> !tile.block<[block_0, 2, s1], f32>
      %7 = tile.tile_attr "block_size" %2 : !tile.tile<block_0> -> !tile.block<[], i64>
      %8 = tile.constant 2 : i64 : !tile.block<[], i64>
      %9 = tile.binary "mul" %7, %8 : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
      %10 = tile.size "s1" : !tile.block<[], i64>
      %11 = tile.reshape %6 to ["8", "s1"] : !tile.block<[block_0, 2, s1], f32> -> !tile.block<[8, s1], f32>
      %12 = tile.tile_attr "begin" %2 : !tile.tile<block_0> -> !tile.block<[], i64>
      %13 = tile.constant 2 : i64 : !tile.block<[], i64>
      %14 = tile.binary "mul" %12, %13 : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
      %15 = tile.constant 8 : i64 : !tile.block<[], i64>
      %16 = tile.binary "add" %14, %15 : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
      %17 = tile.arange ["8"] dtype i32 : !tile.block<[8], i32>
      %18 = tile.binary "add" %14, %17 : !tile.block<[], i64>, !tile.block<[8], i32> -> !tile.block<[8], i32>
      %19 = tile.size "s2" : !tile.block<[], i64>
      %20 = tile.binary "lt" %18, %19 : !tile.block<[8], i32>, !tile.block<[], i64> -> !tile.block<[8], i1>
      %21 = tile.reshape %20 to ["8", "1"] : !tile.block<[8], i1> -> !tile.block<[8, 1], i1>
      tile.store %11, %out[%18] ["outer", "full"] mask %21 : !tile.block<[8, 1], i1> : !tile.block<[8, s1], f32>, !tile.tensor<[s2, s1], f32>, !tile.block<[8], i32>
    }
  }
}

// IR:      block_values = {block_0 = 4 : i64}
// IR:      tile.reshape %{{.*}} to ["8", "s1"] : !tile.block<[block_0, 2, s1], f32> -> !tile.block<[8, s1], f32>
// IR:      tile.store %{{.*}}, %{{.*}}[%{{.*}}] ["outer", "full"] mask %{{.*}} : !tile.block<[8, 1], i1>

// CHECK:      [[M:v[0-9]+]] = tl.reshape({{v[0-9]+}}, (8, RDIM_S1))
// CHECK:      [[B:v[0-9]+]] = begin_1 * 2
// CHECK:      [[A:v[0-9]+]] = tl.arange(0, 8)
// CHECK-NEXT: [[P:v[0-9]+]] = [[B]].to(tl.int32) + [[A]]
// CHECK-NEXT: [[IN:v[0-9]+]] = [[P]] < s2.to(tl.int32)
// CHECK-NEXT: [[IN2:v[0-9]+]] = [[IN]][:, None]
// CHECK-NEXT: [[OOB:oob_[0-9]+]] = ([[P]] < 0) | ([[P]] >= s2)
// CHECK-NEXT: [[BAD:bad_[0-9]+]] = ((tl.max([[IN2]].to(tl.int32), axis=1) > 0)) & [[OOB]]
// CHECK:      tl.store(out_ptr + [[P]][:, None] * out_stride_0 + tl.arange(0, RDIM_S1)[None, :] * out_stride_1, [[M]], mask=(((tl.arange(0, RDIM_S1) < s1)[None, :]) & (([[OOB]] == 0)[:, None])) & ([[IN2]]))

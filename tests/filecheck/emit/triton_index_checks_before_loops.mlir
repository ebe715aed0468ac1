// RUN: kc-opt %s --emit "triton{block-sizes=16,32}" | filecheck %s

// A per-lane check of an access outside every loop, with a loop after it (a jagged row's end
// offset, offsets[row + 1]), records its failures right after the check instead of carrying
// them to the kernel's end: nothing of the check stays live through the loop (no kc_bad state,
// no record after the loop). The hoisted check of the loop's gather is recorded before the
// loop as well.

builtin.module {
  tile.kernel @row_sum_kernel(%offsets: !tile.tensor<[s0], i64>, %x: !tile.tensor<[s1], f32>, %out: !tile.tensor<[s2], f32>) attributes {size_hints = {s0 = 65 : i64, s1 = 1000 : i64, s2 = 64 : i64}} {
    %0 = tile.size "s2" : !tile.block<[], i64>
    %1 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %2 = %1 to %0 block block_0 kind tile parallel {
      %3 = tile.load %offsets[%2] ["tile"] : !tile.tensor<[s0], i64>, !tile.tile<block_0> -> !tile.block<[block_0], i64>
      %i = tile.index %2 : !tile.tile<block_0> -> !tile.block<[block_0], i64>
      %c1 = tile.constant 1 : i64 : !tile.block<[], i64>
      %next = tile.binary "add" %i, %c1 : !tile.block<[block_0], i64>, !tile.block<[], i64> -> !tile.block<[block_0], i64>
      %ends = tile.load %offsets[%next] ["gather"] : !tile.tensor<[s0], i64>, !tile.block<[block_0], i64> -> !tile.block<[block_0], i64>
      %6 = tile.binary "sub" %ends, %3 : !tile.block<[block_0], i64>, !tile.block<[block_0], i64> -> !tile.block<[block_0], i64>
      %4 = tile.constant 0.000000e+00 : f32 : !tile.block<[], f32>
      %5 = tile.full %4 shape ["block_0"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0], f32>
      %7 = tile.constant 0 : i64 : !tile.block<[], i64>
      %8 = tile.for %9 = %7 to %6 : !tile.block<[], i64>, !tile.block<[block_0], i64> block block_1 kind jagged iter_args(%10 = %5) -> (!tile.block<[block_0], f32>) {
        %11 = tile.reshape %3 to ["block_0", "1"] : !tile.block<[block_0], i64> -> !tile.block<[block_0, 1], i64>
        %12 = tile.index %9 : !tile.tile<block_1> -> !tile.block<[block_1], i64>
        %13 = tile.reshape %12 to ["1", "block_1"] : !tile.block<[block_1], i64> -> !tile.block<[1, block_1], i64>
        %14 = tile.binary "add" %11, %13 : !tile.block<[block_0, 1], i64>, !tile.block<[1, block_1], i64> -> !tile.block<[block_0, block_1], i64>
        %15 = tile.load %x[%14] ["gather"] : !tile.tensor<[s1], f32>, !tile.block<[block_0, block_1], i64> -> !tile.block<[block_0, block_1], f32>
        %16 = tile.reduce "sum" %15 dim 1 : i64 : !tile.block<[block_0, block_1], f32> -> !tile.block<[block_0], f32>
        %17 = tile.binary "add" %10, %16 : !tile.block<[block_0], f32>, !tile.block<[block_0], f32> -> !tile.block<[block_0], f32>
        tile.yield %17 : !tile.block<[block_0], f32>
      }
      tile.store %8, %out[%2] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s2], f32>, !tile.tile<block_0>
      tile.yield
    }
  }
}

// CHECK:       def row_sum_kernel(
// CHECK-NOT:       kc_bad
// CHECK:           [[N:v[0-9]+]] = {{.*}} + 1
// CHECK-NEXT:      [[OOB:oob_[0-9]+]] = ([[N]] < 0) | ([[N]] >= s0)
// CHECK-NEXT:      [[BAD:bad_[0-9]+]] = (mask_{{[0-9]+}}) & [[OOB]]
// CHECK-NEXT:      if tl.max([[BAD]].to(tl.int32)) > 0:
// CHECK-NEXT:          tl.store(kc_error_flag_ptr, 1)
// CHECK-NEXT:          tl.store(kc_errors_ptr + 0, s0 + 1)
// CHECK-NEXT:          tl.store(kc_errors_ptr + 1, tl.max(tl.where([[BAD]], tl.cast([[N]], tl.int64), -9223372036854775807)))
// CHECK-NEXT:      {{v[0-9]+}} = tl.load(offsets_ptr + [[N]] * offsets_stride_0, mask={{.*}}([[OOB]] == 0){{.*}}, other=0)
// CHECK:           tl.store(kc_errors_ptr + 3,
// CHECK:           for
// CHECK-NOT:       kc_error
// CHECK:       def launch_row_sum_kernel(

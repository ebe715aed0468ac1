// RUN: kc-opt %s --emit "triton{block-sizes=16,32}" | filecheck %s
// RUN: kc-opt %s --emit "triton{block-sizes=16,32 index-checks=false}" | filecheck %s --check-prefix=OFF

// A gather whose index is affine in a loop's tile indices (a segment sum: x[start + k] for k in
// a jagged row of each start) is checked once, before the loop, instead of in every lane of
// every iteration: the interval [start + 0, start + length - 1] of each row must lie in [0, s1),
// the bounds must stay inside +-2**62 (EXACT: the check's own arithmetic cannot overflow) and
// fit the integer type the kernel computes each node in (no lane wraps around), and rows with
// an empty loop have nothing to check. Outside every sequential loop the record is stored at
// once (nothing stays live through the loops): a failing end of the interval, or -2**63 + 1
// where the arithmetic overflows. A failing row's jagged count is set to 0, so its lanes die by
// the loop's own mask: the loop body is exactly the unchecked one. Inside the loop the gather's mask only gains the hoisted
// predicate; a program with a failing row skips the jagged loop, whose count comes from the
// same bad data. The record is stored after the loops as for per-lane checks.

builtin.module {
  tile.kernel @segment_sum_kernel(%starts: !tile.tensor<[s0], i64>, %x: !tile.tensor<[s1], f32>, %lengths: !tile.tensor<[s0], i64>, %out: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 64 : i64, s1 = 1000 : i64}, size_divisors = {s0 = 64 : i64, s1 = 8 : i64}} {
    %0 = tile.size "s0" : !tile.block<[], i64>
    %1 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %2 = %1 to %0 block block_0 kind tile parallel {
      %3 = tile.load %starts[%2] ["tile"] : !tile.tensor<[s0], i64>, !tile.tile<block_0> -> !tile.block<[block_0], i64>
      %4 = tile.constant 0.000000e+00 : f32 : !tile.block<[], f32>
      %5 = tile.full %4 shape ["block_0"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0], f32>
      %6 = tile.load %lengths[%2] ["tile"] : !tile.tensor<[s0], i64>, !tile.tile<block_0> -> !tile.block<[block_0], i64>
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
      tile.store %8, %out[%2] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
      tile.yield
    }
  }
}

// CHECK:       def segment_sum_kernel(
// CHECK-NOT:       kc_bad
// CHECK:           [[S:v[0-9]+]] = tl.load(starts_ptr
// CHECK:           [[L:v[0-9]+]] = tl.load(lengths_ptr
// CHECK-NEXT:      [[S64:h[0-9]+]] = [[S]][:, None].to(tl.int64)
// CHECK-NEXT:      [[LB:h[0-9]+]] = tl.full((), 0, tl.int64)
// CHECK-NEXT:      [[UB:h[0-9]+]] = [[L]][:, None].to(tl.int64)
// CHECK-NEXT:      [[LAST:h[0-9]+]] = [[UB]] - 1
// CHECK-NEXT:      [[LO:h[0-9]+]] = [[S64]] + [[LB]]
// CHECK-NEXT:      [[HI:h[0-9]+]] = [[S64]] + [[LAST]]
// CHECK-NEXT:      [[EXACT:h[0-9]+]] = (([[S64]] > -4611686018427387904) & ([[S64]] < 4611686018427387904)) & {{.*}}
// CHECK-NEXT:      [[BAD:h[0-9]+]] = ~(([[LO]] >= 0) & ([[HI]] < s1) & [[EXACT]] & {{.*}}([[UB]] <= 2147483648){{.*}}) & ([[UB]] > [[LB]])
// CHECK-NEXT:      [[VALUE:h[0-9]+]] = tl.where([[EXACT]] & ([[LO]] < 0), [[LO]], tl.where([[EXACT]] & ([[HI]] >= s1), [[HI]], -9223372036854775807))
// CHECK-NEXT:      if tl.max([[BAD]].to(tl.int32)) > 0:
// CHECK-NEXT:          tl.store(kc_error_flag_ptr, 1)
// CHECK-NEXT:          tl.store(kc_errors_ptr + 0, s1 + 1)
// CHECK-NEXT:          tl.store(kc_errors_ptr + 1, tl.max(tl.where([[BAD]], [[VALUE]], -9223372036854775807)))
// CHECK-NEXT:      [[L]] = tl.where(tl.reshape([[BAD]], (BLOCK_0,)), 0, [[L]])
// CHECK:           [[N:t[0-9]+]] = tl.max([[L]], axis=0)
// CHECK-NEXT:      for begin_{{[0-9]+}} in tl.range(0, [[N]], BLOCK_1):
// CHECK-NOT:       [[BAD]]
// CHECK:               {{v[0-9]+}} = tl.load(x_ptr + {{v[0-9]+}} * x_stride_0, mask=mask_{{[0-9]+}}, other=0.0)
// CHECK-NOT:       kc_
// CHECK:       def launch_segment_sum_kernel(

// OFF:         def segment_sum_kernel(
// OFF-NOT:     kc_
// OFF:             for begin_{{[0-9]+}} in tl.range(0, {{t[0-9]+}}, BLOCK_1):
// OFF-NOT:     kc_
// OFF:             {{v[0-9]+}} = tl.load(x_ptr + {{v[0-9]+}} * x_stride_0, mask=mask_{{[0-9]+}}, other=0.0)

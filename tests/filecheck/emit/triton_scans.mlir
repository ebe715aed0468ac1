// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// tile.scan (cumsum/cumprod) and tile.combine (associative_scan/reduce with a user combine
// function in its region) print and parse back; the Triton backend emits the region as a
// @triton.jit function. Lanes past the dim's end (s0 = 100 with blocks of 64 is ragged):
// a reverse sum scan sees 0 there, a reverse combine scan a flag that makes them absent, a
// reduce the `other` value.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>, %out: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 100 : i64}} {
    %0 = tile.size "s0" : !tile.block<[], i64>
    %1 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %2 = %1 to %0 block block_0 kind tile parallel {
      %3 = tile.load %x[%2] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      %4 = tile.scan "sum" %3 dim 0 : i64 reverse : !tile.block<[block_0], f32> -> !tile.block<[block_0], f32>
      %5 = tile.combine "scan" %3 dim 0 : i64 reverse : !tile.block<[block_0], f32> -> !tile.block<[block_0], f32> {
      ^bb0(%6: !tile.block<[], f32>, %7: !tile.block<[], f32>):
        %8 = tile.binary "mul" %6, %7 : !tile.block<[], f32>, !tile.block<[], f32> -> !tile.block<[], f32>
        tile.yield %8 : !tile.block<[], f32>
      }
      %9 = tile.constant 0xff800000 : f32 : !tile.block<[], f32>
      %10 = tile.combine "reduce" %3 dim 0 : i64 other %9 : !tile.block<[], f32> : !tile.block<[block_0], f32> -> !tile.block<[], f32> {
      ^bb0(%11: !tile.block<[], f32>, %12: !tile.block<[], f32>):
        %13 = tile.binary "maximum" %11, %12 : !tile.block<[], f32>, !tile.block<[], f32> -> !tile.block<[], f32>
        tile.yield %13 : !tile.block<[], f32>
      }
      %14 = tile.binary "add" %4, %5 : !tile.block<[block_0], f32>, !tile.block<[block_0], f32> -> !tile.block<[block_0], f32>
      %15 = tile.binary "add" %14, %10 : !tile.block<[block_0], f32>, !tile.block<[], f32> -> !tile.block<[block_0], f32>
      tile.store %15, %out[%2] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// IR:      tile.scan "sum" %{{.*}} dim 0 : i64 reverse : !tile.block<[block_0], f32> -> !tile.block<[block_0], f32>
// IR:      tile.combine "scan" %{{.*}} dim 0 : i64 reverse : !tile.block<[block_0], f32> -> !tile.block<[block_0], f32> {
// IR-NEXT: ^{{.*}}(%{{.*}}: !tile.block<[], f32>, %{{.*}}: !tile.block<[], f32>):
// IR-NEXT:   tile.binary "mul"
// IR-NEXT:   tile.yield
// IR:      tile.combine "reduce" %{{.*}} dim 0 : i64 other %{{.*}} : !tile.block<[], f32> : !tile.block<[block_0], f32> -> !tile.block<[], f32> {

// CHECK:      @triton.jit
// CHECK-NEXT: def _kc_combine_0(a0, b0):
// CHECK-NEXT:     [[P:v[0-9]+]] = a0 * b0
// CHECK-NEXT:     return [[P]]
// CHECK:      def _kc_combine_0_flagged(fa, a0, fb, b0):
// CHECK-NEXT:     c = _kc_combine_0(a0, b0)
// CHECK-NEXT:     return fa | fb, tl.where((fa != 0) & (fb != 0), c, tl.where(fa != 0, a0, b0))
// CHECK:      def _kc_combine_1(a0, b0):
// CHECK-NEXT:     [[M:v[0-9]+]] = tl.maximum(a0, b0, propagate_nan=tl.PropagateNan.ALL)
// CHECK-NEXT:     return [[M]]
// CHECK:      def k(
// CHECK:      [[X:v[0-9]+]] = tl.load(x_ptr
// CHECK-NEXT: [[Z:t[0-9]+]] = tl.where(mask_{{[0-9]+}}, [[X]], 0)
// CHECK-NEXT: v{{[0-9]+}} = tl.cumsum([[Z]], axis=0, reverse=True)
// CHECK-NEXT: [[F:t[0-9]+]] = tl.where(mask_{{[0-9]+}}, 1, 0) + tl.zeros((BLOCK_0,), tl.int32)
// CHECK-NEXT: [[S:t[0-9]+]] = tl.associative_scan(([[F]], [[X]]), 0, _kc_combine_0_flagged, reverse=True)
// CHECK:      [[O:t[0-9]+]] = tl.where(mask_{{[0-9]+}}, [[X]], float('-inf'))
// CHECK-NEXT: v{{[0-9]+}} = tl.reduce([[O]], 0, _kc_combine_1)
// CHECK:      v{{[0-9]+}} = v{{[0-9]+}} + [[S]][1]

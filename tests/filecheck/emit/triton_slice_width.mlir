// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// A slice whose width is known only at run time, `x[tile, a:b].sum(-1)` over int arguments a
// and b (frontend/slices.py): its width is the size symbol width0, which the kernel's
// slice_widths defines as the positions of s2:s3 inside x's dim s1. The launcher computes it
// from the sizes, clamped as torch's slicing clamps; the kernel takes it as a size, with the
// register extent of its bound (size_hints: width0 as s1), so its lanes are masked by
// `arange < width0` like those of any size, in the load and before the reduction.

builtin.module {
  tile.kernel @ab(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 5 : i64, s1 = 13 : i64, s2 = 2 : i64, s3 = 9 : i64, width0 = 13 : i64}, slice_widths = {width0 = ["s1", "s2", "s3", "1"]}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.size "s2" : !tile.block<[], i64>
      %r = tile.arange ["width0"] dtype i32 : !tile.block<[width0], i32>
      %pos = tile.binary "add" %a, %r : !tile.block<[], i64>, !tile.block<[width0], i32> -> !tile.block<[width0], i32>
      %s1 = tile.size "s1" : !tile.block<[], i64>
      %in = tile.binary "lt" %pos, %s1 : !tile.block<[width0], i32>, !tile.block<[], i64> -> !tile.block<[width0], i1>
      %m = tile.reshape %in to ["1", "width0"] : !tile.block<[width0], i1> -> !tile.block<[1, width0], i1>
      %v = tile.load %x[%t, %pos] ["tile", "outer"] mask %m : !tile.block<[1, width0], i1> : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.block<[width0], i32> -> !tile.block<[block_0, width0], f32>
      %s = tile.reduce "sum" %v dim 1 : i64 : !tile.block<[block_0, width0], f32> -> !tile.block<[block_0], f32>
      tile.store %s, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// IR: slice_widths = {width0 = ["s1", "s2", "s3", "1"]}

// CHECK:      def ab(
// CHECK:          width0,
// CHECK:          RDIM_WIDTH0: tl.constexpr,
// CHECK:      [[R:v[0-9]+]] = tl.arange(0, RDIM_WIDTH0)
// CHECK:      tl.load(x_ptr {{.*}}mask={{.*}}(tl.arange(0, RDIM_WIDTH0) < width0)
// CHECK:      tl.where({{.*}}(tl.arange(0, RDIM_WIDTH0) < width0){{.*}}, 0)
// CHECK-NEXT: tl.sum(
// CHECK:      def launch_ab(
// CHECK:          width0 = max(0, min(arg_for_s3, x.shape[1]) - arg_for_s2)
// CHECK:          ab[(num_tiles,)]({{.*}}width0, BLOCK_0={{[0-9]+}}, RDIM_WIDTH0=16,

// RUN: kc-opt %s --emit "triton{block-sizes=16,32}" | filecheck %s

// A gather whose index is a scalar plus a loop's tile indices (a group's rows: x[start + m]
// for m in a tile loop over the group's length) is checked once, before the loop, over the
// whole interval [start, start + rows - 1]: nothing of the index is left per lane, so the
// failure predicate is 0-d. The access's 2-D mask gains it by arithmetic on a block of the
// access's shape, never by indexing the 0-d value ([:, None] on it does not exist), and the
// record's test adds a (1,) zero block before tl.max: the GPU compiler rejects tl.max of a
// 0-d value, which the interpreter accepts.

builtin.module {
  tile.kernel @doubled_groups_kernel(%offsets: !tile.tensor<[s0], i32>, %x: !tile.tensor<[s1, s2], f32>, %out: !tile.tensor<[s1, s2], f32>) attributes {size_hints = {s0 = 3 : i64, s1 = 10 : i64, s2 = 7 : i64}, size_divisors = {s0 = 1 : i64, s1 = 2 : i64, s2 = 1 : i64}} {
    %0 = tile.size "s0" : !tile.block<[], i64>
    %1 = tile.constant 1 : i64 : !tile.block<[], i64>
    %2 = tile.binary "sub" %0, %1 : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
    %3 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %4 = %3 to %2 block 1 kind grid parallel {
      %5 = tile.tile_attr "begin" %4 : !tile.tile<1> -> !tile.block<[], i64>
      %6 = tile.load %offsets[%5] ["scalar"] : !tile.tensor<[s0], i32>, !tile.block<[], i64> -> !tile.block<[], i32>
      %7 = tile.constant 1 : i64 : !tile.block<[], i64>
      %8 = tile.binary "add" %5, %7 : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
      %9 = tile.load %offsets[%8] ["scalar"] : !tile.tensor<[s0], i32>, !tile.block<[], i64> -> !tile.block<[], i32>
      %10 = tile.binary "sub" %9, %6 : !tile.block<[], i32>, !tile.block<[], i32> -> !tile.block<[], i32>
      %12 = tile.size "s2" : !tile.block<[], i64>
      %13 = tile.constant 0 : i64 : !tile.block<[], i64>
      %14 = tile.constant 0 : i64 : !tile.block<[], i64>
      tile.for %15 = %13 to %10 : !tile.block<[], i64>, !tile.block<[], i32> block block_0 kind tile {
        tile.for %16 = %14 to %12 block block_1 kind tile {
          %17 = tile.index %15 : !tile.tile<block_0> -> !tile.block<[block_0], i64>
          %18 = tile.binary "add" %6, %17 : !tile.block<[], i32>, !tile.block<[block_0], i64> -> !tile.block<[block_0], i64>
          %19 = tile.load %x[%18, %16] ["gather", "tile"] : !tile.tensor<[s1, s2], f32>, !tile.block<[block_0], i64>, !tile.tile<block_1> -> !tile.block<[block_0, block_1], f32>
          tile.store %19, %out[%15, %16] ["tile", "tile"] : !tile.block<[block_0, block_1], f32>, !tile.tensor<[s1, s2], f32>, !tile.tile<block_0>, !tile.tile<block_1>
          tile.yield
        }
        tile.yield
      }
      tile.yield
    }
  }
}

// CHECK:       def doubled_groups_kernel(
// CHECK:           [[START:v[0-9]+]] = tl.load(offsets_ptr + begin_
// CHECK:           [[BAD:h[0-9]+]] = ~((
// CHECK:           if tl.max(([[BAD]].to(tl.int32) + tl.zeros((1,), tl.int32))) > 0:
// CHECK:           for begin_{{[0-9]+}} in tl.range(0, {{v[0-9]+}}, BLOCK_0):
// CHECK:               [[ROWS:v[0-9]+]] = [[START]].to(tl.int64) + offs_
// CHECK-NEXT:          tl.load(x_ptr + [[ROWS]][:, None] * x_stride_0 + {{.*}}, mask=(mask_{{[0-9]+}}[:, None]) & (((tl.zeros((BLOCK_0, BLOCK_1), tl.int32) + [[BAD]].to(tl.int32)) == 0)), other=0.0)
// CHECK-NOT:       [[BAD]] == 0)[

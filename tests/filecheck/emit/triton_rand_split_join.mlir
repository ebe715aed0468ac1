// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// tile.join / tile.split (a last dim of size 2) and tile.rand (Philox numbers of a seed and
// per-element offsets) print, parse back and lower to tl.join, tl.split and tl.rand.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0, 2], f32>, %out: !tile.tensor<[s0, 2], f32>) attributes {size_hints = {s0 = 100 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, 2], f32>, !tile.tile<block_0> -> !tile.block<[block_0, 2], f32>
      %lo, %hi = tile.split %v : !tile.block<[block_0, 2], f32> -> !tile.block<[block_0], f32>, !tile.block<[block_0], f32>
      %seed = tile.constant 7 : i64 : !tile.block<[], i64>
      %i = tile.index %t : !tile.tile<block_0> -> !tile.block<[block_0], i64>
      %r = tile.rand "uniform" %seed, %i : !tile.block<[], i64>, !tile.block<[block_0], i64> -> !tile.block<[block_0], f32>
      %a = tile.binary "add" %hi, %r : !tile.block<[block_0], f32>, !tile.block<[block_0], f32> -> !tile.block<[block_0], f32>
      %j = tile.join %a, %lo : !tile.block<[block_0], f32>, !tile.block<[block_0], f32> -> !tile.block<[block_0, 2], f32>
      tile.store %j, %out[%t] ["tile", "full"] : !tile.block<[block_0, 2], f32>, !tile.tensor<[s0, 2], f32>, !tile.tile<block_0>
    }
  }
}

// IR:      %{{.*}}, %{{.*}} = tile.split %{{.*}} : !tile.block<[block_0, 2], f32> -> !tile.block<[block_0], f32>, !tile.block<[block_0], f32>
// IR:      tile.rand "uniform" %{{.*}}, %{{.*}} : !tile.block<[], i64>, !tile.block<[block_0], i64> -> !tile.block<[block_0], f32>
// IR:      tile.join %{{.*}}, %{{.*}} : !tile.block<[block_0], f32>, !tile.block<[block_0], f32> -> !tile.block<[block_0, 2], f32>

// CHECK:      [[P:t[0-9]+]] = tl.split(v{{[0-9]+}})
// CHECK-NEXT: [[LO:v[0-9]+]] = [[P]][0]
// CHECK-NEXT: [[HI:v[0-9]+]] = [[P]][1]
// CHECK-NEXT: [[R:v[0-9]+]] = tl.rand(tl.full((), 7, tl.int64), offs_{{[0-9]+}})
// CHECK-NEXT: [[A:v[0-9]+]] = [[HI]] + [[R]]
// CHECK-NEXT: v{{[0-9]+}} = tl.join([[A]], [[LO]])

// RUN: exit-code 1 kc-opt %s -p shape-inference 2>&1 | filecheck %s

// An access's extra mask must be a bool block: the shape-inference pass reports any other at
// the access.

builtin.module {
  tile.kernel @bad(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %i = tile.index %t : !tile.tile<block_0> -> !tile.block<[block_0], i64>
      %v = tile.load %x[%t] ["tile"] mask %i : !tile.block<[block_0], i64> : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<?>
    }
  }
}

// CHECK: error: {{.*}}an access mask must be bool, got i64

// RUN: kc-opt %s -t triton | filecheck %s

// Bounds checks of a gather under an extra mask with unit dims around the gather's own
// (concatenate's `y[t0, t1.index - n]` masked by `(t1.index >= n)[None, :]`): the mask is the
// gather's lanes' predicate once its unit dims are reshaped away, so lanes it turns off
// (negative indices left of y) are not reported; lanes it keeps are still checked.

builtin.module {
  tile.kernel @tail(%out: !tile.tensor<[s0, s2], f32>, %y: !tile.tensor<[s0, s1], f32>) attributes {size_hints = {s0 = 5 : i64, s1 = 4 : i64, s2 = 7 : i64, s3 = 3 : i64}} {
    %m = tile.size "s0" : !tile.block<[], i64>
    %n = tile.size "s2" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t0 = %c0 to %m block block_0 kind tile parallel {
      tile.for %t1 = %c0 to %n block block_1 kind tile parallel {
        %i = tile.index %t1 : !tile.tile<block_1> -> !tile.block<[block_1], i64>
        %w = tile.size "s3" : !tile.block<[], i64>
        %j = tile.binary "sub" %i, %w : !tile.block<[block_1], i64>, !tile.block<[], i64> -> !tile.block<[block_1], i64>
        %ge = tile.binary "ge" %i, %w : !tile.block<[block_1], i64>, !tile.block<[], i64> -> !tile.block<[block_1], i1>
        %row = tile.reshape %ge to ["1", "block_1"] : !tile.block<[block_1], i1> -> !tile.block<[1, block_1], i1>
        %v = tile.load %y[%t0, %j] ["tile", "gather"] mask %row : !tile.block<[1, block_1], i1> : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.block<[block_1], i64> -> !tile.block<[block_0, block_1], f32>
        tile.store %v, %out[%t0, %t1] ["tile", "tile"] : !tile.block<[block_0, block_1], f32>, !tile.tensor<[s0, s2], f32>, !tile.tile<block_0>, !tile.tile<block_1>
      }
    }
  }
}

// CHECK:      [[J:v[0-9]+]] = offs_2 - s3
// CHECK-NEXT: [[GE:v[0-9]+]] = offs_2 >= s3
// CHECK-NEXT: [[ROW:v[0-9]+]] = [[GE]][None, :]
// CHECK-NEXT: [[OOB:oob_[0-9]+]] = ([[J]] < 0) | ([[J]] >= s1)
// CHECK-NEXT: [[BAD:bad_[0-9]+]] = ((mask_2) & (tl.reshape([[ROW]], (BLOCK_1,)))) & [[OOB]]
// CHECK-NEXT: kc_bad_0 = kc_bad_0 | [[BAD]]
// CHECK:      tl.load(y_ptr + {{.*}}, mask={{.*}}(([[OOB]] == 0)[None, :])) & ([[ROW]]), other=0.0)

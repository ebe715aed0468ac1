// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// An `outer` index (a run of positions, start + kl.arange(n) * step) adds a dim of its own even
// next to another of the same dims, so x[%t, %rows, %cols] is the [block_0, 8, 8] Cartesian
// block, each index laid out on its own axis of the pointer sum; its positions are
// bounds-checked like a gather's. (Two `gather` indices of one shape would pair: [block_0, 8].)
// Misuse is in kc-opt/shape_errors.mlir.

builtin.module {
  tile.kernel @block(%x: !tile.tensor<[s0, s1, s2], f32>, %out: !tile.tensor<[s0, s1, s2], f32>) attributes {size_hints = {s0 = 3 : i64, s1 = 18 : i64, s2 = 19 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.arange ["8"] dtype i32 : !tile.block<[8], i32>
      %c5 = tile.constant 5 : i64 : !tile.block<[], i64>
      %rows = tile.binary "add" %c5, %a : !tile.block<[], i64>, !tile.block<[8], i32> -> !tile.block<[8], i32>
      %v = tile.load %x[%t, %rows, %a] ["tile", "outer", "outer"] : !tile.tensor<[s0, s1, s2], f32>, !tile.tile<block_0>, !tile.block<[8], i32>, !tile.block<[8], i32> -> !tile.block<[block_0, 8, 8], f32>
      tile.store %v, %out[%t, %rows, %a] ["tile", "outer", "outer"] : !tile.block<[block_0, 8, 8], f32>, !tile.tensor<[s0, s1, s2], f32>, !tile.tile<block_0>, !tile.block<[8], i32>, !tile.block<[8], i32>
    }
  }
}

// IR:      tile.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] ["tile", "outer", "outer"] : {{.*}} -> !tile.block<[block_0, 8, 8], f32>
// IR:      tile.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] ["tile", "outer", "outer"]

// CHECK:      [[A:v[0-9]+]] = tl.arange(0, 8)
// CHECK-NEXT: [[R:v[0-9]+]] = 5 + [[A]]
// CHECK-NEXT: [[OR:oob_[0-9]+]] = ([[R]] < 0) | ([[R]] >= s1)
// CHECK:      [[OC:oob_[0-9]+]] = ([[A]] < 0) | ([[A]] >= s2)
// CHECK:      tl.load(x_ptr + offs_1[:, None, None] * x_stride_0 + [[R]][None, :, None] * x_stride_1 + [[A]][None, None, :] * x_stride_2, mask=(mask_1[:, None, None]) & ((([[OR]] == 0)[None, :, None]) & (([[OC]] == 0)[None, None, :])), other=0.0)

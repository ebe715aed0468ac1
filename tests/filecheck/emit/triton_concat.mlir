// RUN: kc-opt %s --split-input-file | kc-opt --split-input-file | filecheck %s --check-prefix=IR
// RUN: kc-opt %s --split-input-file -t triton | filecheck %s

// tile.concat as the frontend builds it where joins cannot (frontend/concat.py): torch.cat of
// a [block_0, 16] and a [block_0, 32] block along dim 1 is [block_0, 48], held in 64 lanes.
// Each operand is gathered at its clamped positions and a select by lane position keeps the
// right one; the lanes past 48 are zeros, and the store masks them. A stack of three
// [block_0] blocks is three [block_0, 1] blocks concatenated: one-lane operands broadcast
// instead of gathering, and the 3 lanes of 4 are padded as well.

builtin.module {
  tile.kernel @cat(%x: !tile.tensor<[5, 16], f32>, %y: !tile.tensor<[5, 32], f32>, %out: !tile.tensor<[5, 48], f32>) {
    %n = tile.constant 5 : i64 : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[5, 16], f32>, !tile.tile<block_0> -> !tile.block<[block_0, 16], f32>
      %b = tile.load %y[%t] ["tile", "full"] : !tile.tensor<[5, 32], f32>, !tile.tile<block_0> -> !tile.block<[block_0, 32], f32>
      %c = tile.concat %a, %b axis 1 : i64 : !tile.block<[block_0, 16], f32>, !tile.block<[block_0, 32], f32> -> !tile.block<[block_0, 48], f32>
      tile.store %c, %out[%t] ["tile", "full"] : !tile.block<[block_0, 48], f32>, !tile.tensor<[5, 48], f32>, !tile.tile<block_0>
    }
  }
}

// -----
builtin.module {
  tile.kernel @stack3(%x: !tile.tensor<[5], f16>, %out: !tile.tensor<[5, 3], f16>) {
    %n = tile.constant 5 : i64 : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile"] : !tile.tensor<[5], f16>, !tile.tile<block_0> -> !tile.block<[block_0], f16>
      %u = tile.reshape %a to ["block_0", "1"] : !tile.block<[block_0], f16> -> !tile.block<[block_0, 1], f16>
      %s = tile.concat %u, %u, %u axis 1 : i64 : !tile.block<[block_0, 1], f16>, !tile.block<[block_0, 1], f16>, !tile.block<[block_0, 1], f16> -> !tile.block<[block_0, 3], f16>
      tile.store %s, %out[%t] ["tile", "full"] : !tile.block<[block_0, 3], f16>, !tile.tensor<[5, 3], f16>, !tile.tile<block_0>
    }
  }
}

// IR:      tile.concat %{{.*}}, %{{.*}} axis 1 : i64 : !tile.block<[block_0, 16], f32>, !tile.block<[block_0, 32], f32> -> !tile.block<[block_0, 48], f32>
// IR:      tile.concat %{{.*}}, %{{.*}}, %{{.*}} axis 1 : i64 : !tile.block<[block_0, 1], f16>, !tile.block<[block_0, 1], f16>, !tile.block<[block_0, 1], f16> -> !tile.block<[block_0, 3], f16>

// CHECK-LABEL: def cat(
// CHECK:      [[A:v[0-9]+]] = tl.load(x_ptr
// CHECK:      [[B:v[0-9]+]] = tl.load(y_ptr
// CHECK-NEXT: [[P:t[0-9]+]] = tl.arange(0, 64)[None, :]
// CHECK-NEXT: [[IB:t[0-9]+]] = tl.broadcast_to(tl.minimum(tl.maximum([[P]] - 16, 0), 32 - 1), (BLOCK_0, 64))
// CHECK-NEXT: [[GB:t[0-9]+]] = tl.gather([[B]], [[IB]], 1)
// CHECK-NEXT: [[ZB:t[0-9]+]] = tl.where([[P]] < 48, [[GB]], tl.zeros_like([[GB]]))
// CHECK-NEXT: [[IA:t[0-9]+]] = tl.broadcast_to(tl.minimum(tl.maximum([[P]], 0), 16 - 1), (BLOCK_0, 64))
// CHECK-NEXT: [[C:t[0-9]+]] = tl.where([[P]] < 16, tl.gather([[A]], [[IA]], 1), [[ZB]])
// CHECK-NEXT: tl.store(out_ptr + {{.*}}, [[C]], mask=(mask_{{[0-9]+}}[:, None]) & ((tl.arange(0, 64) < 48)[None, :]))

// CHECK-LABEL: def stack3(
// CHECK:      [[U:v[0-9]+]] = v{{[0-9]+}}[:, None]
// CHECK-NEXT: [[P:t[0-9]+]] = tl.arange(0, 4)[None, :]
// CHECK-NEXT: [[L:t[0-9]+]] = tl.broadcast_to([[U]], (BLOCK_0, 4))
// CHECK-NEXT: [[Z:t[0-9]+]] = tl.where([[P]] < 3, [[L]], tl.zeros_like([[L]]))
// CHECK-NEXT: [[M:t[0-9]+]] = tl.where([[P]] < 2, tl.broadcast_to([[U]], (BLOCK_0, 4)), [[Z]])
// CHECK-NEXT: [[S:t[0-9]+]] = tl.where([[P]] < 1, tl.broadcast_to([[U]], (BLOCK_0, 4)), [[M]])
// CHECK-NEXT: tl.store(out_ptr + {{.*}}, [[S]], mask=

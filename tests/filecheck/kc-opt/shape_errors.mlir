// RUN: exit-code 1 kc-opt %s --split-input-file 2>&1 | filecheck %s --check-prefix=FIRST
// RUN: kc-opt %s --split-input-file --verify-diagnostics | filecheck %s

// A tile.reshape that splits or merges dims needs every dim of the changed run to be a power
// of two fixed when the kernel compiles (emit/triton_reshape_split.mlir has the legal form);
// the verifier names the dim that is not, or says the element counts differ. An `outer` index
// is 1-D (emit/triton_outer_index.mlir).

// s3 = 12 is padded to 16 registers: splitting it would misplace the second half.
builtin.module {
  tile.kernel @padded(%x: !tile.tensor<[s3], f32>) attributes {size_hints = {s3 = 12 : i64, s4 = 6 : i64}, size_divisors = {s3 = 4 : i64, s4 = 2 : i64}} {
    %v = tile.load %x[] ["full"] : !tile.tensor<[s3], f32>, -> !tile.block<[s3], f32>
    %s = tile.reshape %v to ["2", "s4"] : !tile.block<[s3], f32> -> !tile.block<[2, s4], f32>
  }
}

// FIRST: shape_errors.mlir:13:5: error: 'tile.reshape' op cannot reshape ['s3'] to ['2', 's4']: dim s3 is not a power of two known when the kernel compiles
// CHECK: shape_errors.mlir:13:5: error: 'tile.reshape' op cannot reshape ['s3'] to ['2', 's4']: dim s3 is not a power of two known when the kernel compiles

// -----
// Element counts that differ: 16 elements cannot become 2 x 4.
builtin.module {
  tile.kernel @count(%x: !tile.tensor<[16], f32>) {
    %v = tile.load %x[] ["full"] : !tile.tensor<[16], f32>, -> !tile.block<[16], f32>
    %s = tile.reshape %v to ["2", "4"] : !tile.block<[16], f32> -> !tile.block<[2, 4], f32>
  }
}

// CHECK: shape_errors.mlir:25:5: error: 'tile.reshape' op cannot reshape ['16'] to ['2', '4']: the element counts differ

// -----
// An `outer` index is 1-D.
builtin.module {
  tile.kernel @two_d(%x: !tile.tensor<[s0, s1], f32>) {
    %a = tile.arange ["8"] dtype i32 : !tile.block<[8], i32>
    %b = tile.reshape %a to ["8", "1"] : !tile.block<[8], i32> -> !tile.block<[8, 1], i32>
    %v = tile.load %x[%b] ["outer", "full"] : !tile.tensor<[s0, s1], f32>, !tile.block<[8, 1], i32> -> !tile.block<[8, 1, s1], f32>
  }
}

// CHECK: shape_errors.mlir:37:5: error: 'tile.load' op an `outer` index must be 1-D, got ['8', '1']

// -----
// A block the kernel does not fix (no block_values entry: the config chooses it) is not exact.
builtin.module {
  tile.kernel @free_block(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      %s = tile.reshape %v to ["2", "8"] : !tile.block<[block_0], f32> -> !tile.block<[2, 8], f32>
    }
  }
}

// CHECK: shape_errors.mlir:51:7: error: 'tile.reshape' op cannot reshape ['block_0'] to ['2', '8']: dim block_0 is not a power of two known when the kernel compiles

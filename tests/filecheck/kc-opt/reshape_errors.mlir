// RUN: exit-code 1 kc-opt %s --split-input-file 2>&1 | filecheck %s --check-prefix=FIRST
// RUN: kc-opt %s --split-input-file --verify-diagnostics | filecheck %s

// A tile.reshape that splits or merges dims needs every dim of the changed run to be a power
// of two fixed when the kernel compiles (emit/triton_reshape_split.mlir has the legal form);
// the verifier names the dim that is not, or says the element counts differ.

// s3 = 12 is padded to 16 registers: splitting it would misplace the second half.
builtin.module {
  tile.kernel @padded(%x: !tile.tensor<[s3], f32>) attributes {size_hints = {s3 = 12 : i64, s4 = 6 : i64}, size_divisors = {s3 = 4 : i64, s4 = 2 : i64}} {
    %v = tile.load %x[] ["full"] : !tile.tensor<[s3], f32>, -> !tile.block<[s3], f32>
    %s = tile.reshape %v to ["2", "s4"] : !tile.block<[s3], f32> -> !tile.block<[2, s4], f32>
  }
}

// FIRST: reshape_errors.mlir:12:5: error: 'tile.reshape' op cannot reshape ['s3'] to ['2', 's4']: dim s3 is not a power of two known when the kernel compiles
// CHECK: reshape_errors.mlir:12:5: error: 'tile.reshape' op cannot reshape ['s3'] to ['2', 's4']: dim s3 is not a power of two known when the kernel compiles

// -----
// Element counts that differ: 16 elements cannot become 2 x 4.
builtin.module {
  tile.kernel @count(%x: !tile.tensor<[16], f32>) {
    %v = tile.load %x[] ["full"] : !tile.tensor<[16], f32>, -> !tile.block<[16], f32>
    %s = tile.reshape %v to ["2", "4"] : !tile.block<[16], f32> -> !tile.block<[2, 4], f32>
  }
}

// CHECK: reshape_errors.mlir:24:5: error: 'tile.reshape' op cannot reshape ['16'] to ['2', '4']: the element counts differ

// RUN: kc-opt %s --split-input-file --verify-diagnostics | filecheck %s

// tile.kernel's slice_widths (run-time slice widths, computed by the launcher): each entry is
// [bound, start, stop, step] of ints or size symbols, a positive int step, the width's size
// hint equal to its bound's (its register extent) and no size divisor.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 9 : i64, s1 = 2 : i64, w = 9 : i64}, slice_widths = {w = ["s0", "s1", "s0", "1"]}} {
  }
}

// CHECK:      slice_widths = {w = ["s0", "s1", "s0", "1"]}} {
// CHECK-NEXT:   }
// CHECK-NEXT: }

// -----
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 9 : i64, w = 9 : i64}, slice_widths = {w = ["s0", "s7", "s0", "1"]}} {
  }
}

// CHECK: slice_widths_errors.mlir:18:3: error: tile.kernel: slice_widths[w]: start 's7' is neither an int nor a size symbol of size_hints

// -----
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 9 : i64, s1 = 2 : i64, w = 9 : i64}, slice_widths = {w = ["s0", "s1", "s0", "0"]}} {
  }
}

// CHECK: slice_widths_errors.mlir:26:3: error: tile.kernel: slice_widths[w]: step '0' is not a positive int

// -----
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 9 : i64, s1 = 2 : i64, w = 7 : i64}, slice_widths = {w = ["s0", "s1", "s0", "1"]}} {
  }
}

// CHECK: slice_widths_errors.mlir:34:3: error: tile.kernel: slice_widths[w]: its size hint must be its bound's (its register extent)

// -----
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 9 : i64, s1 = 2 : i64, w = 9 : i64}, size_divisors = {w = 1 : i64}, slice_widths = {w = ["s0", "s1", "s0", "1"]}} {
  }
}

// CHECK: slice_widths_errors.mlir:42:3: error: tile.kernel: slice_widths[w] has a size divisor; a width known only at run time promises none

// -----
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 9 : i64, w = 9 : i64}, slice_widths = {w = ["s0", "1"]}} {
  }
}

// CHECK: slice_widths_errors.mlir:50:3: error: tile.kernel: slice_widths[w] must be [bound, start, stop, step] strings

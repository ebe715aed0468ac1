// RUN: exit-code 1 kc-opt %s --split-input-file 2>&1 | filecheck %s --check-prefix=FIRST
// RUN: kc-opt %s --split-input-file --parsing-diagnostics | filecheck %s

// Malformed input: a diagnostic `file:line:col: error: message` with the line and a caret
// under the culprit, exit code 1, no Python traceback. With --parsing-diagnostics every
// chunk's error is printed instead and kc-opt exits 0 (xdsl-opt's mode for testing them).

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {
    %0 = tile.bogus %x
  }
}

// FIRST-NOT:  Traceback
// FIRST:      parse_errors.mlir:10:21: error: Operation tile.bogus is not registered
// FIRST-NEXT:     %0 = tile.bogus %x
// FIRST-NEXT:                     ^~
// FIRST-NOT:  Traceback
// CHECK:      parse_errors.mlir:10:21
// CHECK:      Operation tile.bogus is not registered

// -----
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    tile.for %t = %n to %n block block_0 parallel {
    }
  }
}

// CHECK:      parse_errors.mlir:26:42
// CHECK:      Expected 'kind'

// -----
builtin.module {
  tile.kernel @k(%0: !tile.tensor<[s0], f32>) {
  }
}

// CHECK:      parse_errors.mlir:36:18
// CHECK:      kernel argument %0 needs a name: %0: <type> {name = "x"}

// -----
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32> {size = 3}) {
  }
}

// CHECK:      parse_errors.mlir:45:46
// CHECK:      unknown kernel argument attribute(s) ['size']

// -----
builtin.module {
  tile.kernel @k(%x: !tile.block<[], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %r = tile.for %t = %n to %n block block_0 kind tile iter_args(%a = %x, %b = %x) -> (!tile.block<[], f32>) {
      tile.yield %a : !tile.block<[], f32>
    }
  }
}

// CHECK:      parse_errors.mlir:56:66
// CHECK:      expected 1 operand types but had 2

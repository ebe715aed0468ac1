// RUN: exit-code 1 kc-opt %s --split-input-file 2>&1 | filecheck %s --check-prefix=FIRST
// RUN: kc-opt %s --split-input-file --verify-diagnostics | filecheck %s

// IR that parses but breaks a verifier: kc-opt verifies what it parsed (and around every
// pass), reports `file:line:col: error: message` at the op that failed with its source line
// (never the whole module), and exits 1. With --verify-diagnostics every chunk's error is
// printed instead and kc-opt exits 0.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    tile.for %t = %n to %n block block_0 kind spiral {
    }
  }
}

// FIRST-NOT:  Traceback
// FIRST:      verify_errors.mlir:12:5: error: tile.for: unknown kind 'spiral'
// FIRST-NEXT:     tile.for %t = %n to %n block block_0 kind spiral {
// FIRST-NEXT:     ^~~~~~~~
// FIRST-NOT:  {{.}}
// CHECK:      verify_errors.mlir:12:5: error: tile.for: unknown kind 'spiral'

// -----
// A result type the typing rule disagrees with.
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    tile.for %t = %n to %n block block_0 kind tile {
      %a = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f16>
    }
  }
}

// CHECK:      verify_errors.mlir:30:7: error: 'tile.load' op result type !tile.block<[block_0], f16> does not match inferred !tile.block<[block_0], f32>

// -----
// A store whose value does not broadcast to the indexed shape.
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>, %v: !tile.block<[s1], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    tile.for %t = %n to %n block block_0 kind tile {
      tile.store %v, %x[%t] ["tile"] : !tile.block<[s1], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK:      verify_errors.mlir:43:7: error: 'tile.store' op shapes [['block_0'], ['s1']] do not broadcast: dim block_0 vs s1

// -----
// A loop whose body yields values of other types than its results.
builtin.module {
  tile.kernel @k(%a: !tile.block<[], f32>, %b: !tile.block<[], i64>) {
    %r = tile.for %t = %b to %b block block_0 kind tile iter_args(%acc = %a) -> (!tile.block<[], f32>) {
      tile.yield %b : !tile.block<[], i64>
    }
  }
}

// CHECK:      verify_errors.mlir:54:5: error: tile.for: yielded types must match the results

// -----
// Every block argument of a kernel needs a name (only the generic syntax can omit one).
"builtin.module"() ({
  "tile.kernel"() <{sym_name = "k", arg_names = []}> ({
  ^bb0(%x: !tile.block<[], f32>):
  }) : () -> ()
}) : () -> ()

// CHECK:      verify_errors.mlir:65:3: error: tile.kernel: arg_names must name every block argument

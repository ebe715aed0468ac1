// RUN: kc-opt %s --split-input-file | filecheck %s
// RUN: kc-opt %s --split-input-file --print-op-generic | filecheck %s --check-prefix=GENERIC

// The custom syntax of tile.kernel and tile.for, detail by detail.

// A loop body without a terminator gets an empty `tile.yield`, which is not printed back.
builtin.module {
  tile.kernel @implicit_yield(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
    }
  }
}

// CHECK-LABEL: tile.kernel @implicit_yield(%x: !tile.tensor<[s0], f32>) {
// CHECK:         tile.for %t = %c0 to %n block block_0 kind tile parallel {
// CHECK-NEXT:    }
// GENERIC-LABEL: "tile.kernel"() <{sym_name = "implicit_yield", arg_names = ["x"]}> ({
// GENERIC:         ^bb0(%t: !tile.tile<block_0>):
// GENERIC-NEXT:      "tile.yield"() : () -> ()

// -----
// Arguments keep their names whatever their SSA names: a name that is not an SSA name, and a
// numeric SSA name, are spelled with {name = ...}. Symbols that are not identifiers are quoted.
builtin.module {
  tile.kernel @"odd names"(%0: !tile.block<[], f32> {name = "a b"}, %y: !tile.block<[], f32> {name = "z"}) {
  }
}

// CHECK-LABEL: tile.kernel @"odd names"(%0: !tile.block<[], f32> {name = "a b"}, %z: !tile.block<[], f32>) {
// GENERIC:       <{sym_name = "odd names", arg_names = ["a b", "z"]}>

// -----
// Two kernels in one module with the same argument name: the second one's SSA value is
// renamed by the printer, so its name is spelled out.
builtin.module {
  tile.kernel @first(%x: !tile.block<[], f32>) {
  }
  tile.kernel @second(%x: !tile.block<[], f32>) {
  }
}

// CHECK:      tile.kernel @first(%x: !tile.block<[], f32>) {
// CHECK:      tile.kernel @second(%x_1: !tile.block<[], f32> {name = "x"}) {
// GENERIC:    "tile.kernel"() <{sym_name = "second", arg_names = ["x"]}>

// -----
// Loop-carried values, bounds of other types than a scalar i64, grid loops (block 1).
builtin.module {
  tile.kernel @loops(%lens: !tile.tensor<[s0], i32>) attributes {size_hints = {s0 = 8 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    %f0 = tile.constant 0.000000e+00 : f32 : !tile.block<[], f32>
    %r:2 = tile.for %g = %c0 to %n block 1 kind grid parallel iter_args(%a = %f0, %b = %f0) -> (!tile.block<[], f32>, !tile.block<[], f32>) attributes {loc = "k.py:2"} {
      tile.yield %b, %a : !tile.block<[], f32>, !tile.block<[], f32>
    }
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %l = tile.load %lens[%t] ["tile"] : !tile.tensor<[s0], i32>, !tile.tile<block_0> -> !tile.block<[block_0], i32>
      tile.for %j = %c0 to %l : !tile.block<[], i64>, !tile.block<[block_0], i32> block block_1 kind jagged {
      }
    }
  }
}

// CHECK-LABEL: tile.kernel @loops(%lens: !tile.tensor<[s0], i32>) attributes {size_hints = {s0 = 8 : i64}} {
// CHECK:         %r, %r_1 = tile.for %g = %c0 to %n block 1 kind grid parallel iter_args(%a = %f0, %b = %f0) -> (!tile.block<[], f32>, !tile.block<[], f32>) attributes {loc = "k.py:2"} {
// CHECK-NEXT:      tile.yield %b, %a : !tile.block<[], f32>, !tile.block<[], f32>
// CHECK-NEXT:    }
// CHECK:         tile.for %j = %c0 to %l : !tile.block<[], i64>, !tile.block<[block_0], i32> block block_1 kind jagged {
// GENERIC-LABEL: "tile.kernel"() <{sym_name = "loops", arg_names = ["lens"]}> ({
// GENERIC:         "tile.for"(%c0, %n, %f0, %f0) <{block = "1", kind = "grid", parallel}> ({
// GENERIC-NEXT:    ^bb0(%g: !tile.tile<1>, %a: !tile.block<[], f32>, %b: !tile.block<[], f32>):

// RUN: exit-code 1 kc-opt %s --split-input-file -p shape-inference 2>&1 | filecheck %s --check-prefix=FIRST
// RUN: kc-opt %s --split-input-file -p shape-inference --verify-diagnostics | filecheck %s

// Every diagnostic is `file:line:col: error: message` at the op, then that op's source line with
// a caret under its first token, then notes; never the module (xDSL's verifier attaches the
// whole module, printed, to its exception: kc-opt drops it). Lines longer than 160 characters
// are cut around the op. A pass's error names the pass in a note.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %a = tile.binary "add" %n, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<?>
    %b = tile.reduce "sum" %a dim 3 : i64 : !tile.block<?> -> !tile.block<?>
  }
}

// FIRST-NOT:  Traceback
// FIRST:      located_errors.mlir:13:5: error: tile.reduce: reduction dim 3 out of range for rank 0
// FIRST-NEXT:     %b = tile.reduce "sum" %a dim 3 : i64 : !tile.block<?> -> !tile.block<?>
// FIRST-NEXT:     ^~
// FIRST-NEXT: note: while running pass 'shape-inference'
// FIRST-NOT:  {{.}}
// CHECK:      located_errors.mlir:13:5: error: tile.reduce: reduction dim 3 out of range for rank 0

// -----
// A verifier failure in the middle of a kernel: only the failing op's line is shown.
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %a = tile.binary "add" %n, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
    %b = tile.binary "mul" %a, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], f16>
    %c = tile.binary "sub" %a, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
  }
}

// CHECK:      located_errors.mlir:31:5: error: 'tile.binary' op result type !tile.block<[], f16> does not match inferred !tile.block<[], i64>
// CHECK-NEXT:     %b = tile.binary "mul" %a, %n
// CHECK-NEXT:     ^~
// CHECK-NOT:  builtin.module
// CHECK-NOT:  %c = tile.binary

// -----
// A line longer than 160 characters is cut around the op's column.
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
                                                                                                                                                                                                            %b = tile.binary "mul" %n, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], f16>                                                                                                    
  }
}

// CHECK:      located_errors.mlir:47:205: error: 'tile.binary' op result type !tile.block<[], f16>
// CHECK-NEXT: {{^}}...{{ +}}%b = tile.binary "mul" %n, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], f16>{{ +}}...{{$}}
// CHECK-NEXT: {{^ +}}^~{{$}}

// -----
// A location written in the text, `loc(...)`, is the op's location (as in MLIR).
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %b = tile.binary "mul" %n, %n : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], f16> loc("kernel.mlir":7:3)
  }
}

// CHECK:      kernel.mlir:7:3: error: 'tile.binary' op result type !tile.block<[], f16>

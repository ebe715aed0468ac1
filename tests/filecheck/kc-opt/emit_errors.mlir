// RUN: exit-code 1 kc-opt %s -t triton 2>&1 | filecheck %s

// An op the Triton emitter cannot lower is reported at the op, like a verifier failure.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 64 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      %p = tile.reduce "prod" %v dim 0 : i64 : !tile.block<[block_0], f32> -> !tile.block<[], f32>
    }
  }
}

// CHECK-NOT:  Traceback
// CHECK:      emit_errors.mlir:11:7: error: 'tile.reduce' op triton: prod reductions are not supported by the Triton backend yet
// CHECK-NEXT:       %p = tile.reduce "prod" %v dim 0
// CHECK-NEXT:       ^~
// CHECK-NOT:  {{.}}

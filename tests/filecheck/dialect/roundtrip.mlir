// RUN: kc-opt %s --print-op-generic | kc-opt > %t.mlir
// RUN: filecheck %s --input-file %t.mlir
// RUN: kc-opt %t.mlir | diff %t.mlir -

// Every op of the tile dialect in its custom syntax. Printing is the identity on this text:
// custom -> generic -> custom gives it back line for line (the CHECK lines are the input),
// and print -> parse -> print of that output is the same text again.
// A kernel argument's SSA name is its name (`{name = ...}` spells one that is not an SSA
// name); a loop's trailing `tile.yield` is printed unless it is empty and attribute-free.

builtin.module {
  tile.kernel @all_ops(%x: !tile.tensor<[s0, s1], bf16>, %idx: !tile.tensor<[s2], i64>, %w: !tile.tensor<[32, 16], f32>, %out: !tile.tensor<[s0, s1], f32>, %eps: !tile.block<[], f32>, %0: !tile.tensor<[s0], i32> {name = "row counts"}) attributes {size_hints = {s0 = 8 : i64, s1 = 100 : i64, s2 = 4 : i64}} {
    %n = tile.size "s0" {loc = "k.py:3"} : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    %c4 = tile.constant 4 : i64 : !tile.block<[], i64>
    %half = tile.constant 5.000000e-01 : f32 : !tile.block<[], f32>
    tile.for %t = %c0 to %n block block_0 kind tile parallel attributes {loc = "k.py:4"} {
      %begin = tile.tile_attr "begin" %t : !tile.tile<block_0> -> !tile.block<[], i64>
      %rows = tile.index %t : !tile.tile<block_0> -> !tile.block<[block_0], i64>
      %xb = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], bf16>, !tile.tile<block_0> -> !tile.block<[block_0, s1], bf16>
      %i = tile.load %idx[%begin] ["scalar"] : !tile.tensor<[s2], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
      %g = tile.load %x[%rows] ["gather", "full"] : !tile.tensor<[s0, s1], bf16>, !tile.block<[block_0], i64> -> !tile.block<[block_0, s1], bf16>
      %wf = tile.load %w[] ["full", "full"] : !tile.tensor<[32, 16], f32>, -> !tile.block<[32, 16], f32>
      %xf = tile.cast %xb to f32 : !tile.block<[block_0, s1], bf16> -> !tile.block<[block_0, s1], f32>
      %prod = tile.binary "mul" %g, %xf : !tile.block<[block_0, s1], bf16>, !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %e = tile.unary "exp" %prod : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %m = tile.reduce "max" %e dim 1 : i64 keepdim : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 1], f32>
      %s = tile.reduce "sum" %e dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      %s2 = tile.reshape %s to ["block_0", "1"] : !tile.block<[block_0], f32> -> !tile.block<[block_0, 1], f32>
      %pos = tile.binary "gt" %m, %half : !tile.block<[block_0, 1], f32>, !tile.block<[], f32> -> !tile.block<[block_0, 1], i1>
      %sel = tile.select %pos, %e, %eps : !tile.block<[block_0, 1], i1>, !tile.block<[block_0, s1], f32>, !tile.block<[], f32> -> !tile.block<[block_0, s1], f32>
      %acc0 = tile.full %half shape ["block_0", "16"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0, 16], f32>
      %lhs = tile.full %half shape ["block_0", "32"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0, 32], f32>
      %r = tile.for %k = %c0 to %c4 block block_1 kind tile iter_args(%acc = %acc0) -> (!tile.block<[block_0, 16], f32>) {
        %d = tile.dot %lhs, %wf, %acc : !tile.block<[block_0, 32], f32>, !tile.block<[32, 16], f32>, !tile.block<[block_0, 16], f32> -> !tile.block<[block_0, 16], f32>
        tile.yield %d : !tile.block<[block_0, 16], f32>
      }
      tile.for %p = %c0 to %c4 block 1 kind grid {
      }
      %lens = tile.load %0[%t] ["tile"] : !tile.tensor<[s0], i32>, !tile.tile<block_0> -> !tile.block<[block_0], i32>
      tile.for %j = %c0 to %lens : !tile.block<[], i64>, !tile.block<[block_0], i32> block block_2 kind jagged {
        tile.yield {loc = "k.py:9"}
      }
      %asm = tile.inline_asm "mov.b32 $0, $1;\0A" "=r,r" pack 1 : i64 pure to i32 (%lens) : !tile.block<[block_0], i32> -> !tile.block<[block_0], i32>
      tile.print "sums" %s, %begin : !tile.block<[block_0], f32>, !tile.block<[], i64>
      tile.print "here"
      tile.store %sel, %out[%t] ["tile", "full"] : !tile.block<[block_0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK:      builtin.module {
// CHECK-NEXT:   tile.kernel @all_ops(%x: !tile.tensor<[s0, s1], bf16>, %idx: !tile.tensor<[s2], i64>, %w: !tile.tensor<[32, 16], f32>, %out: !tile.tensor<[s0, s1], f32>, %eps: !tile.block<[], f32>, %0: !tile.tensor<[s0], i32> {name = "row counts"}) attributes {size_hints = {s0 = 8 : i64, s1 = 100 : i64, s2 = 4 : i64}} {
// CHECK-NEXT:     %n = tile.size "s0" {loc = "k.py:3"} : !tile.block<[], i64>
// CHECK-NEXT:     %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
// CHECK-NEXT:     %c4 = tile.constant 4 : i64 : !tile.block<[], i64>
// CHECK-NEXT:     %half = tile.constant 5.000000e-01 : f32 : !tile.block<[], f32>
// CHECK-NEXT:     tile.for %t = %c0 to %n block block_0 kind tile parallel attributes {loc = "k.py:4"} {
// CHECK-NEXT:       %begin = tile.tile_attr "begin" %t : !tile.tile<block_0> -> !tile.block<[], i64>
// CHECK-NEXT:       %rows = tile.index %t : !tile.tile<block_0> -> !tile.block<[block_0], i64>
// CHECK-NEXT:       %xb = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], bf16>, !tile.tile<block_0> -> !tile.block<[block_0, s1], bf16>
// CHECK-NEXT:       %i = tile.load %idx[%begin] ["scalar"] : !tile.tensor<[s2], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
// CHECK-NEXT:       %g = tile.load %x[%rows] ["gather", "full"] : !tile.tensor<[s0, s1], bf16>, !tile.block<[block_0], i64> -> !tile.block<[block_0, s1], bf16>
// CHECK-NEXT:       %wf = tile.load %w[] ["full", "full"] : !tile.tensor<[32, 16], f32>, -> !tile.block<[32, 16], f32>
// CHECK-NEXT:       %xf = tile.cast %xb to f32 : !tile.block<[block_0, s1], bf16> -> !tile.block<[block_0, s1], f32>
// CHECK-NEXT:       %prod = tile.binary "mul" %g, %xf : !tile.block<[block_0, s1], bf16>, !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
// CHECK-NEXT:       %e = tile.unary "exp" %prod : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
// CHECK-NEXT:       %m = tile.reduce "max" %e dim 1 : i64 keepdim : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 1], f32>
// CHECK-NEXT:       %s = tile.reduce "sum" %e dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
// CHECK-NEXT:       %s2 = tile.reshape %s to ["block_0", "1"] : !tile.block<[block_0], f32> -> !tile.block<[block_0, 1], f32>
// CHECK-NEXT:       %pos = tile.binary "gt" %m, %half : !tile.block<[block_0, 1], f32>, !tile.block<[], f32> -> !tile.block<[block_0, 1], i1>
// CHECK-NEXT:       %sel = tile.select %pos, %e, %eps : !tile.block<[block_0, 1], i1>, !tile.block<[block_0, s1], f32>, !tile.block<[], f32> -> !tile.block<[block_0, s1], f32>
// CHECK-NEXT:       %acc0 = tile.full %half shape ["block_0", "16"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0, 16], f32>
// CHECK-NEXT:       %lhs = tile.full %half shape ["block_0", "32"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0, 32], f32>
// CHECK-NEXT:       %r = tile.for %k = %c0 to %c4 block block_1 kind tile iter_args(%acc = %acc0) -> (!tile.block<[block_0, 16], f32>) {
// CHECK-NEXT:         %d = tile.dot %lhs, %wf, %acc : !tile.block<[block_0, 32], f32>, !tile.block<[32, 16], f32>, !tile.block<[block_0, 16], f32> -> !tile.block<[block_0, 16], f32>
// CHECK-NEXT:         tile.yield %d : !tile.block<[block_0, 16], f32>
// CHECK-NEXT:       }
// CHECK-NEXT:       tile.for %p = %c0 to %c4 block 1 kind grid {
// CHECK-NEXT:       }
// CHECK-NEXT:       %lens = tile.load %0[%t] ["tile"] : !tile.tensor<[s0], i32>, !tile.tile<block_0> -> !tile.block<[block_0], i32>
// CHECK-NEXT:       tile.for %j = %c0 to %lens : !tile.block<[], i64>, !tile.block<[block_0], i32> block block_2 kind jagged {
// CHECK-NEXT:         tile.yield {loc = "k.py:9"}
// CHECK-NEXT:       }
// CHECK-NEXT:       %asm = tile.inline_asm "mov.b32 $0, $1;\0A" "=r,r" pack 1 : i64 pure to i32 (%lens) : !tile.block<[block_0], i32> -> !tile.block<[block_0], i32>
// CHECK-NEXT:       tile.print "sums" %s, %begin : !tile.block<[block_0], f32>, !tile.block<[], i64>
// CHECK-NEXT:       tile.print "here"
// CHECK-NEXT:       tile.store %sel, %out[%t] ["tile", "full"] : !tile.block<[block_0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
// CHECK-NEXT:     }
// CHECK-NEXT:   }
// CHECK-NEXT: }

// RUN: kc-opt %s --split-input-file -p shape-inference | filecheck %s

// shape-inference fills every `!tile.block<?>` result from the op's typing rule (the ones
// the verifiers check), in program order, loop-carried values from their initial values.

// Broadcasting: equal symbols match, "1" stretches, missing leading dims are added.
builtin.module {
  tile.kernel @broadcast(%x: !tile.tensor<[s0, s1], f32>, %y: !tile.tensor<[s1], f32>, %out: !tile.tensor<[s0, s1], f32>) {
    %n = tile.size "s0" : !tile.block<?>
    %c0 = tile.constant 0 : i64 : !tile.block<?>
    tile.for %t = %c0 to %n : !tile.block<?>, !tile.block<?> block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<?>
      %b = tile.load %y[] ["full"] : !tile.tensor<[s1], f32>, -> !tile.block<?>
      %sum = tile.binary "add" %a, %b : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %rows = tile.index %t : !tile.tile<block_0> -> !tile.block<?>
      %col = tile.reshape %rows to ["block_0", "1"] : !tile.block<?> -> !tile.block<?>
      %outer = tile.binary "mul" %col, %b : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %lt = tile.binary "lt" %sum, %outer : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      tile.store %sum, %out[%t] ["tile", "full"] : !tile.block<?>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @broadcast(
// CHECK: tile.for %t = %c0 to %n block block_0 kind tile parallel {
// CHECK: %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
// CHECK: %b = tile.load %y[] ["full"] : !tile.tensor<[s1], f32>, -> !tile.block<[s1], f32>
// CHECK: %sum = tile.binary "add" %a, %b : !tile.block<[block_0, s1], f32>, !tile.block<[s1], f32> -> !tile.block<[block_0, s1], f32>
// CHECK: %rows = tile.index %t : !tile.tile<block_0> -> !tile.block<[block_0], i64>
// CHECK: %col = tile.reshape %rows to ["block_0", "1"] : !tile.block<[block_0], i64> -> !tile.block<[block_0, 1], i64>
// CHECK: %outer = tile.binary "mul" %col, %b : !tile.block<[block_0, 1], i64>, !tile.block<[s1], f32> -> !tile.block<[block_0, s1], f32>
// CHECK: %lt = tile.binary "lt" %sum, %outer : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], i1>
// CHECK: tile.store %sum, %out[%t] ["tile", "full"] : !tile.block<[block_0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>

// -----
// Reductions drop the reduced dim, or keep it as 1 with keepdim; integer sums are i64,
// arg-reductions give i64 indices.
builtin.module {
  tile.kernel @reductions(%x: !tile.tensor<[s0, s1], f32>, %m: !tile.tensor<[s0, s1], i32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<?>
      %max = tile.reduce "max" %a dim 1 : i64 keepdim : !tile.block<?> -> !tile.block<?>
      %sum = tile.reduce "sum" %a dim 1 : i64 : !tile.block<?> -> !tile.block<?>
      %first = tile.reduce "min" %a dim 0 : i64 : !tile.block<?> -> !tile.block<?>
      %arg = tile.reduce "argmax" %a dim 1 : i64 : !tile.block<?> -> !tile.block<?>
      %i = tile.load %m[%t] ["tile", "full"] : !tile.tensor<[s0, s1], i32>, !tile.tile<block_0> -> !tile.block<?>
      %isum = tile.reduce "sum" %i dim 1 : i64 keepdim : !tile.block<?> -> !tile.block<?>
    }
  }
}

// CHECK-LABEL: tile.kernel @reductions(
// CHECK: tile.for %t = %c0 to %n block block_0 kind tile parallel {
// CHECK: %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
// CHECK: %max = tile.reduce "max" %a dim 1 : i64 keepdim : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 1], f32>
// CHECK: %sum = tile.reduce "sum" %a dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
// CHECK: %first = tile.reduce "min" %a dim 0 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[s1], f32>
// CHECK: %arg = tile.reduce "argmax" %a dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], i64>
// CHECK: %i = tile.load %m[%t] ["tile", "full"] : !tile.tensor<[s0, s1], i32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], i32>
// CHECK: %isum = tile.reduce "sum" %i dim 1 : i64 keepdim : !tile.block<[block_0, s1], i32> -> !tile.block<[block_0, 1], i64>

// -----
// Type promotion follows torch: bf16 * f32 -> f32, int / int -> f32, a Python float with an
// int tensor -> f32, an f32 scalar does not widen a bf16 tensor; casts take the given dtype.
builtin.module {
  tile.kernel @promotion(%x: !tile.tensor<[s0], bf16>, %y: !tile.tensor<[s0], f32>, %k: !tile.tensor<[s0], i32>, %s: !tile.block<[], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], bf16>, !tile.tile<block_0> -> !tile.block<?>
      %b = tile.load %y[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<?>
      %i = tile.load %k[%t] ["tile"] : !tile.tensor<[s0], i32>, !tile.tile<block_0> -> !tile.block<?>
      %mixed = tile.binary "mul" %a, %b : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %scaled = tile.binary "mul" %a, %s : !tile.block<?>, !tile.block<[], f32> -> !tile.block<?>
      %quot = tile.binary "div" %i, %i : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %half = tile.constant 5.000000e-01 : f32 : !tile.block<?>
      %ihalf = tile.binary "add" %i, %half : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %e = tile.unary "exp" %i : !tile.block<?> -> !tile.block<?>
      %h = tile.cast %b to f16 : !tile.block<?> -> !tile.block<?>
    }
  }
}

// CHECK-LABEL: tile.kernel @promotion(
// CHECK: tile.for %t = %c0 to %n block block_0 kind tile parallel {
// CHECK: %a = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], bf16>, !tile.tile<block_0> -> !tile.block<[block_0], bf16>
// CHECK: %b = tile.load %y[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
// CHECK: %i = tile.load %k[%t] ["tile"] : !tile.tensor<[s0], i32>, !tile.tile<block_0> -> !tile.block<[block_0], i32>
// CHECK: %mixed = tile.binary "mul" %a, %b : !tile.block<[block_0], bf16>, !tile.block<[block_0], f32> -> !tile.block<[block_0], f32>
// CHECK: %scaled = tile.binary "mul" %a, %s : !tile.block<[block_0], bf16>, !tile.block<[], f32> -> !tile.block<[block_0], bf16>
// CHECK: %quot = tile.binary "div" %i, %i : !tile.block<[block_0], i32>, !tile.block<[block_0], i32> -> !tile.block<[block_0], f32>
// CHECK: %half = tile.constant 5.000000e-01 : f32 : !tile.block<[], f32>
// CHECK: %ihalf = tile.binary "add" %i, %half : !tile.block<[block_0], i32>, !tile.block<[], f32> -> !tile.block<[block_0], f32>
// CHECK: %e = tile.unary "exp" %i : !tile.block<[block_0], i32> -> !tile.block<[block_0], f32>
// CHECK: %h = tile.cast %b to f16 : !tile.block<[block_0], f32> -> !tile.block<[block_0], f16>

// -----
// where(cond, a, b): the condition must be i1; the shapes broadcast, the dtypes promote.
builtin.module {
  tile.kernel @where(%x: !tile.tensor<[s0, s1], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<?>
      %zero = tile.constant 0 : i64 : !tile.block<?>
      %pos = tile.binary "gt" %a, %zero : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %relu = tile.select %pos, %a, %zero : !tile.block<?>, !tile.block<?>, !tile.block<?> -> !tile.block<?>
    }
  }
}

// CHECK-LABEL: tile.kernel @where(
// CHECK: tile.for %t = %c0 to %n block block_0 kind tile parallel {
// CHECK: %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
// CHECK: %pos = tile.binary "gt" %a, %zero : !tile.block<[block_0, s1], f32>, !tile.block<[], i64> -> !tile.block<[block_0, s1], i1>
// CHECK: %relu = tile.select %pos, %a, %zero : !tile.block<[block_0, s1], i1>, !tile.block<[block_0, s1], f32>, !tile.block<[], i64> -> !tile.block<[block_0, s1], f32>

// -----
// Loads: a `tile` index gives the loop's block symbol, `full` the tensor's dim, `scalar`
// nothing, `gather` the dims of the index block.
builtin.module {
  tile.kernel @loads(%x: !tile.tensor<[s0, s1], f16>, %idx: !tile.tensor<[s2, s3], i64>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %full = tile.load %x[] ["full", "full"] : !tile.tensor<[s0, s1], f16>, -> !tile.block<?>
      %begin = tile.tile_attr "begin" %t : !tile.tile<block_0> -> !tile.block<?>
      %row = tile.load %x[%begin] ["scalar", "full"] : !tile.tensor<[s0, s1], f16>, !tile.block<?> -> !tile.block<?>
      %elt = tile.load %x[%begin, %begin] ["scalar", "scalar"] : !tile.tensor<[s0, s1], f16>, !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %ids = tile.load %idx[%begin] ["scalar", "full"] : !tile.tensor<[s2, s3], i64>, !tile.block<?> -> !tile.block<?>
      %gathered = tile.load %x[%ids, %t] ["gather", "tile"] : !tile.tensor<[s0, s1], f16>, !tile.block<?>, !tile.tile<block_0> -> !tile.block<?>
    }
  }
}

// CHECK-LABEL: tile.kernel @loads(
// CHECK: tile.for %t = %c0 to %n block block_0 kind tile parallel {
// CHECK: %full = tile.load %x[] ["full", "full"] : !tile.tensor<[s0, s1], f16>, -> !tile.block<[s0, s1], f16>
// CHECK: %begin = tile.tile_attr "begin" %t : !tile.tile<block_0> -> !tile.block<[], i64>
// CHECK: %row = tile.load %x[%begin] ["scalar", "full"] : !tile.tensor<[s0, s1], f16>, !tile.block<[], i64> -> !tile.block<[s1], f16>
// CHECK: %elt = tile.load %x[%begin, %begin] ["scalar", "scalar"] : !tile.tensor<[s0, s1], f16>, !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], f16>
// CHECK: %ids = tile.load %idx[%begin] ["scalar", "full"] : !tile.tensor<[s2, s3], i64>, !tile.block<[], i64> -> !tile.block<[s3], i64>
// CHECK: %gathered = tile.load %x[%ids, %t] ["gather", "tile"] : !tile.tensor<[s0, s1], f16>, !tile.block<[s3], i64>, !tile.tile<block_0> -> !tile.block<[s3, block_0], f16>

// -----
// Reshape keeps the non-unit dims in order; tile.full takes the given shape and dtype;
// loop-carried values take the types of their initial values.
builtin.module {
  tile.kernel @reshape_and_loops(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %m = tile.size "s1" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %zero = tile.constant 0.000000e+00 : f32 : !tile.block<?>
      %acc0 = tile.full %zero shape ["block_0", "1"] dtype f32 : !tile.block<?> -> !tile.block<?>
      %acc1 = tile.reshape %acc0 to ["block_0"] : !tile.block<?> -> !tile.block<?>
      %r = tile.for %k = %c0 to %m block block_1 kind tile iter_args(%acc = %acc1) -> (!tile.block<?>) {
        %a = tile.load %x[%t, %k] ["tile", "tile"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<block_1> -> !tile.block<?>
        %s = tile.reduce "sum" %a dim 1 : i64 : !tile.block<?> -> !tile.block<?>
        %next = tile.binary "add" %acc, %s : !tile.block<?>, !tile.block<?> -> !tile.block<?>
        tile.yield %next : !tile.block<?>
      }
      %r3 = tile.reshape %r to ["1", "block_0", "1"] : !tile.block<?> -> !tile.block<?>
      tile.store %r, %out[%t] ["tile"] : !tile.block<?>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @reshape_and_loops(
// CHECK: tile.for %t = %c0 to %n block block_0 kind tile parallel {
// CHECK: %zero = tile.constant 0.000000e+00 : f32 : !tile.block<[], f32>
// CHECK: %acc0 = tile.full %zero shape ["block_0", "1"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0, 1], f32>
// CHECK: %acc1 = tile.reshape %acc0 to ["block_0"] : !tile.block<[block_0, 1], f32> -> !tile.block<[block_0], f32>
// CHECK: %r = tile.for %k = %c0 to %m block block_1 kind tile iter_args(%acc = %acc1) -> (!tile.block<[block_0], f32>) {
// CHECK: %a = tile.load %x[%t, %k] ["tile", "tile"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<block_1> -> !tile.block<[block_0, block_1], f32>
// CHECK: %s = tile.reduce "sum" %a dim 1 : i64 : !tile.block<[block_0, block_1], f32> -> !tile.block<[block_0], f32>
// CHECK: %r3 = tile.reshape %r to ["1", "block_0", "1"] : !tile.block<[block_0], f32> -> !tile.block<[1, block_0, 1], f32>
// CHECK: tile.store %r, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>

// -----
// A static int and a size symbol the kernel fixes at it (s1: a power of two whose divisor is
// its hint, so the specialization key holds its value) are one dim: the first is kept. s2 is
// not fixed (its divisor is 1) and stays apart (shape_inference_errors.mlir).
builtin.module {
  tile.kernel @fixed(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0, s1], f32>) attributes {size_hints = {s0 = 37 : i64, s1 = 16 : i64}, size_divisors = {s0 = 1 : i64, s1 = 16 : i64}} {
    %n = tile.size "s0" : !tile.block<?>
    %c0 = tile.constant 0 : i64 : !tile.block<?>
    tile.for %t = %c0 to %n : !tile.block<?>, !tile.block<?> block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<?>
      %r = tile.arange ["16"] dtype i64 : !tile.block<?>
      %f = tile.cast %r to f32 : !tile.block<?> -> !tile.block<?>
      %s = tile.binary "add" %a, %f : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %u = tile.binary "add" %f, %a : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      tile.store %u, %out[%t] ["tile", "full"] : !tile.block<?>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @fixed(
// CHECK: %s = tile.binary "add" %a, %f : !tile.block<[block_0, s1], f32>, !tile.block<[16], f32> -> !tile.block<[block_0, s1], f32>
// CHECK: %u = tile.binary "add" %f, %a : !tile.block<[16], f32>, !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 16], f32>
// CHECK: tile.store %u, %out[%t] ["tile", "full"] : !tile.block<[block_0, 16], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>

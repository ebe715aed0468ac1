// RUN: exit-code 1 kc-opt %s --split-input-file -p shape-inference 2>&1 | filecheck %s --check-prefix=FIRST
// RUN: kc-opt %s --split-input-file -p shape-inference --verify-diagnostics | filecheck %s

// A typing rule that fails during shape-inference is reported with the op's source location
// in the IR file and its `loc` attribute (the line of the kernel's Python file), and kc-opt exits 1.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0, s1], f32>, %y: !tile.tensor<[s2], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    tile.for %t = %n to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<?>
      %b = tile.load %y[] ["full"] : !tile.tensor<[s2], f32>, -> !tile.block<?>
      %c = tile.binary "add" %a, %b {loc = "k.py:7"} : !tile.block<?>, !tile.block<?> -> !tile.block<?>
    }
  }
}

// FIRST-NOT:  Traceback
// FIRST:      shape_inference_errors.mlir:13:7: error: k.py:7: tile.binary: shapes [['block_0', 's1'], ['s2']] do not broadcast: dim s1 vs s2
// FIRST-NOT:  Traceback
// CHECK:      k.py:7: tile.binary: shapes [['block_0', 's1'], ['s2']] do not broadcast: dim s1 vs s2

// -----
builtin.module {
  tile.kernel @k(%v: !tile.block<[s0, s1], f32>) {
    %r = tile.reduce "sum" %v dim 2 : i64 {loc = "k.py:8"} : !tile.block<[s0, s1], f32> -> !tile.block<?>
  }
}

// CHECK:      k.py:8: tile.reduce: reduction dim 2 out of range for rank 2

// -----
builtin.module {
  tile.kernel @k(%v: !tile.block<[s0, s1], f32>) {
    %r = tile.reshape %v to ["s1", "s0"] {loc = "k.py:9"} : !tile.block<[s0, s1], f32> -> !tile.block<?>
  }
}

// CHECK:      k.py:9: tile.reshape: cannot reshape ['s0', 's1'] to ['s1', 's0']

// -----
builtin.module {
  tile.kernel @k(%c: !tile.block<[s0], f32>, %v: !tile.block<[s0], f32>) {
    %r = tile.select %c, %v, %v {loc = "k.py:10"} : !tile.block<[s0], f32>, !tile.block<[s0], f32>, !tile.block<[s0], f32> -> !tile.block<?>
  }
}

// CHECK:      k.py:10: tile.select: where: condition must be bool, got f32

// -----
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0, s1], f32>, %i: !tile.block<[], f32>) {
    %r = tile.load %x[%i] ["scalar", "full"] {loc = "k.py:11"} : !tile.tensor<[s0, s1], f32>, !tile.block<[], f32> -> !tile.block<?>
  }
}

// CHECK:      k.py:11: tile.load: index of dtype f32 is not an integer

// -----
// A size symbol the kernel does not fix (s1's divisor 1 is not its hint) is not a static 16.
builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s1], f32>) attributes {size_hints = {s1 = 16 : i64}, size_divisors = {s1 = 1 : i64}} {
    %a = tile.load %x[] ["full"] : !tile.tensor<[s1], f32>, -> !tile.block<?>
    %r = tile.arange ["16"] dtype i64 : !tile.block<?>
    %c = tile.binary "add" %a, %r {loc = "k.py:9"} : !tile.block<?>, !tile.block<?> -> !tile.block<?>
  }
}

// CHECK:      k.py:9: tile.binary: shapes [['s1'], ['16']] do not broadcast: dim s1 vs 16 (s1 is a size known only at run time; kl.specialize of that size, or static_shapes=True, makes it static)

// -----
// tile.concat: each operand's size along the axis must be known when the kernel compiles (a
// tile's block is not: its last tile may be partial; neither is an unfixed size symbol), the
// other dims must agree, and the dtypes too.
builtin.module {
  tile.kernel @k(%a: !tile.block<[block_0, 16], f32>, %b: !tile.block<[block_0, 16], f32>) {
    %c = tile.concat %a, %b axis 0 : i64 {loc = "k.py:12"} : !tile.block<[block_0, 16], f32>, !tile.block<[block_0, 16], f32> -> !tile.block<?>
  }
}

// CHECK:      k.py:12: tile.concat: concat along a dim of size block_0: it must be a size known when the kernel compiles

// -----
builtin.module {
  tile.kernel @k(%a: !tile.block<[s1], f32>, %b: !tile.block<[16], f32>) attributes {size_hints = {s1 = 16 : i64}, size_divisors = {s1 = 1 : i64}} {
    %c = tile.concat %a, %b axis 0 : i64 {loc = "k.py:13"} : !tile.block<[s1], f32>, !tile.block<[16], f32> -> !tile.block<?>
  }
}

// CHECK:      k.py:13: tile.concat: concat along a dim of size s1: it must be a size known when the kernel compiles

// -----
builtin.module {
  tile.kernel @k(%a: !tile.block<[4, 16], f32>, %b: !tile.block<[8, 32], f32>) {
    %c = tile.concat %a, %b axis 1 : i64 {loc = "k.py:14"} : !tile.block<[4, 16], f32>, !tile.block<[8, 32], f32> -> !tile.block<?>
  }
}

// CHECK:      k.py:14: tile.concat: concat along dim 1: shapes ['4', '16'] and ['8', '32'] differ in another dim

// -----
builtin.module {
  tile.kernel @k(%a: !tile.block<[4], f32>, %b: !tile.block<[8], f16>) {
    %c = tile.concat %a, %b axis 0 : i64 {loc = "k.py:15"} : !tile.block<[4], f32>, !tile.block<[8], f16> -> !tile.block<?>
  }
}

// CHECK:      k.py:15: tile.concat: concat of f32 and f16 values

// -----
builtin.module {
  tile.kernel @k(%a: !tile.block<[4], f32>) {
    %c = tile.concat %a, %a axis 1 : i64 {loc = "k.py:16"} : !tile.block<[4], f32>, !tile.block<[4], f32> -> !tile.block<?>
  }
}

// CHECK:      k.py:16: tile.concat: concat along dim 1 of values of rank 1

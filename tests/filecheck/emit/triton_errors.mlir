// RUN: kc-opt %s --split-input-file -t triton --verify-diagnostics | filecheck %s

// A size symbol that no tensor argument carries becomes a launcher parameter,
// `arg_for_<sym>`. A module the backend cannot emit is a diagnostic (exit code 1, or printed
// and skipped with --verify-diagnostics as here).

builtin.module {
  tile.kernel @scale(%x: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 64 : i64, s1 = 16 : i64}} {
    %n = tile.size "s1" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      %w = tile.binary "add" %v, %v : !tile.block<[block_0], f32>, !tile.block<[block_0], f32> -> !tile.block<[block_0], f32>
      tile.store %w, %x[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK:       def launch_scale(x, arg_for_s1, _kc_launch=None):
// CHECK:           s1 = arg_for_s1
// CHECK-NEXT:      num_tiles = (-((0 - s1) // 16))

// -----
// Result types not inferred yet: run -p shape-inference first.
builtin.module {
  tile.kernel @untyped(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    tile.for %t = %n to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<?>
      tile.store %v, %x[%t] ["tile"] : !tile.block<?>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK:       operand type not inferred yet (run shape-inference first)

// -----
builtin.module {
  tile.kernel @first() {
  }
  tile.kernel @second() {
  }
}

// CHECK:       triton: expected exactly one tile.kernel in the module

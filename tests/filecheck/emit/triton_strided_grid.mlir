// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// A grid with a run-time step, `kl.grid(0, n, step=s)` (frontend/strided_loops.py): a unit-step
// grid loop over the trip count, whose loop variable is `begin * s`. The trip count
// `(n + s - sign(s)) // s` (0 trips for s == 0) is computed in the kernel for a sequential loop
// and, for the launch grid, on the host: the select of the step's sign becomes a conditional
// expression in the launcher.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s1], f32>, %out: !tile.tensor<[s1], f32>) attributes {size_hints = {s0 = 2 : i64, s1 = 7 : i64}} {
    %n = tile.size "s1" : !tile.block<[], i64>
    %s = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    %c1 = tile.constant 1 : i64 : !tile.block<[], i64>
    %pos = tile.binary "gt" %s, %c0 : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i1>
    %down = tile.binary "sub" %s, %c1 : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
    %up = tile.binary "add" %s, %c1 : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
    %bias = tile.select %pos, %down, %up : !tile.block<[], i1>, !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
    %num = tile.binary "add" %n, %bias : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
    %zero = tile.binary "eq" %s, %c0 : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i1>
    %div = tile.select %zero, %c1, %s : !tile.block<[], i1>, !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
    %q = tile.binary "floordiv" %num, %div : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
    %trips = tile.select %zero, %c0, %q : !tile.block<[], i1>, !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
    tile.for %g = %c0 to %trips block 1 kind grid parallel {
      %b = tile.tile_attr "begin" %g : !tile.tile<1> -> !tile.block<[], i64>
      %i = tile.binary "mul" %b, %s : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
      %v = tile.load %x[%i] ["scalar"] : !tile.tensor<[s1], f32>, !tile.block<[], i64> -> !tile.block<[], f32>
      tile.store %v, %out[%i] ["scalar"] : !tile.block<[], f32>, !tile.tensor<[s1], f32>, !tile.block<[], i64>
    }
  }
}

// IR:      %trips = tile.select %zero, %c0, %q : !tile.block<[], i1>, !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
// IR-NEXT: tile.for %g = %c0 to %trips block 1 kind grid parallel {

// CHECK:      begin_{{[0-9]+}} = 0 + pid * 1
// CHECK:      [[I:v[0-9]+]] = begin_{{[0-9]+}} * s0
// CHECK:      tl.load(x_ptr + [[I]]
// CHECK:      def launch_k(
// CHECK:      num_tiles = ((0 if (s0 == 0) else ((s1 + ((s0 - 1) if (s0 > 0) else (s0 + 1))) // (1 if (s0 == 0) else s0))) - 0)

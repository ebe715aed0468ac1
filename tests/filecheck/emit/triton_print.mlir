// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// tile.print (kl.device_print, and `print` in device code): a prefix and any number of
// values, printed and parsed back unchanged, emitted as tl.device_print; a literal operand
// becomes a 0-d tensor, which device_print needs.

builtin.module {
  tile.kernel @show(%x: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 64 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    %c3 = tile.constant 3 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      %b = tile.tile_attr "begin" %t : !tile.tile<block_0> -> !tile.block<[], i64>
      tile.print "x" %v, %b, %c3 : !tile.block<[block_0], f32>, !tile.block<[], i64>, !tile.block<[], i64> {loc = "k.py:5"}
      tile.print "reached"
    }
  }
}

// IR:      tile.print "x" %{{.*}}, %{{.*}}, %{{.*}} : !tile.block<[block_0], f32>, !tile.block<[], i64>, !tile.block<[], i64> {loc = "k.py:5"}
// IR-NEXT: tile.print "reached"

// CHECK:      [[V:v[0-9]+]] = tl.load(x_ptr
// CHECK:      tl.device_print('x', [[V]], begin_{{[0-9]+}}, tl.full((), 3, tl.int64))
// CHECK-NEXT: tl.device_print('reached')

// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// tile.if (an `if` on a device scalar) prints and parses back with its two regions, and is
// emitted as a Python if/else in the kernel; each result is assigned in both branches with
// one Triton type (an empty branch is `pass`).

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>, %out: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 100 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      %s = tile.reduce "sum" %v dim 0 : i64 : !tile.block<[block_0], f32> -> !tile.block<[], f32>
      %z = tile.constant 0.0 : f32 : !tile.block<[], f32>
      %c = tile.binary "gt" %s, %z : !tile.block<[], f32>, !tile.block<[], f32> -> !tile.block<[], i1>
      %r = tile.if %c : !tile.block<[], i1> -> (!tile.block<[], f32>) {
        %d = tile.binary "mul" %s, %s : !tile.block<[], f32>, !tile.block<[], f32> -> !tile.block<[], f32>
        tile.yield %d : !tile.block<[], f32>
      } else {
        tile.yield %z : !tile.block<[], f32>
      }
      %w = tile.binary "add" %v, %r : !tile.block<[block_0], f32>, !tile.block<[], f32> -> !tile.block<[block_0], f32>
      tile.store %w, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
      tile.if %c : !tile.block<[], i1> {
        tile.yield
      } else {
        tile.yield
      }
    }
  }
}

// IR:      %{{.*}} = tile.if %{{.*}} : !tile.block<[], i1> -> (!tile.block<[], f32>) {
// IR-NEXT:   tile.binary "mul"
// IR-NEXT:   tile.yield %{{.*}} : !tile.block<[], f32>
// IR-NEXT: } else {
// IR-NEXT:   tile.yield %{{.*}} : !tile.block<[], f32>
// IR-NEXT: }

// CHECK:      [[C:v[0-9]+]] = v{{[0-9]+}} > 0.0
// CHECK-NEXT: if [[C]]:
// CHECK-NEXT:     [[D:v[0-9]+]] = v{{[0-9]+}} * v{{[0-9]+}}
// CHECK-NEXT:     [[R:r[0-9]+]] = [[D]].to(tl.float32)
// CHECK-NEXT: else:
// CHECK-NEXT:     [[R]] = tl.full((), 0.0, tl.float32)
// CHECK-NEXT: v{{[0-9]+}} = v{{[0-9]+}} + [[R]]
// CHECK:      if [[C]]:
// CHECK-NEXT:     pass
// CHECK-NEXT: else:
// CHECK-NEXT:     pass

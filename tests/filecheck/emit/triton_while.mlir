// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// tile.while (a `while` on a device scalar) prints and parses back with its cond and body
// regions; the backend emits a Python while whose condition is computed before the loop and
// again at the end of each iteration, the carried values assigned in one Triton type.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], i64>, %out: !tile.tensor<[s0], i64>) attributes {size_hints = {s0 = 8 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %g = %c0 to %n block 1 kind grid parallel {
      %b = tile.tile_attr "begin" %g : !tile.tile<1> -> !tile.block<[], i64>
      %v = tile.load %x[%b] ["scalar"] : !tile.tensor<[s0], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
      %one = tile.constant 1 : i64 : !tile.block<[], i64>
      %r = tile.while (%v : !tile.block<[], i64>) -> (!tile.block<[], i64>) cond {
      ^bb0(%a: !tile.block<[], i64>):
        %c = tile.binary "gt" %a, %one : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i1>
        tile.yield %c : !tile.block<[], i1>
      } do {
      ^bb1(%a2: !tile.block<[], i64>):
        %h = tile.binary "sub" %a2, %one : !tile.block<[], i64>, !tile.block<[], i64> -> !tile.block<[], i64>
        tile.yield %h : !tile.block<[], i64>
      }
      tile.store %r, %out[%b] ["scalar"] : !tile.block<[], i64>, !tile.tensor<[s0], i64>, !tile.block<[], i64>
    }
  }
}

// IR:      tile.while(%{{.*}} : !tile.block<[], i64>) -> (!tile.block<[], i64>) cond {
// IR:        tile.yield %{{.*}} : !tile.block<[], i1>
// IR-NEXT: } do {
// IR:        tile.yield %{{.*}} : !tile.block<[], i64>

// CHECK:      [[W:w[0-9]+]] = v{{[0-9]+}}.to(tl.int64)
// CHECK-NEXT: [[C:v[0-9]+]] = [[W]] > 1
// CHECK-NEXT: [[F:cond[0-9]+]] = [[C]]
// CHECK-NEXT: while [[F]]:
// CHECK-NEXT:     [[H:v[0-9]+]] = [[W]] - 1
// CHECK-NEXT:     [[W]] = [[H]].to(tl.int64)
// CHECK-NEXT:     [[C2:v[0-9]+]] = [[W]] > 1
// CHECK-NEXT:     [[F]] = [[C2]]
// CHECK:      tl.store(out_ptr{{.*}}, [[W]]

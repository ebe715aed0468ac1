// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// tile.arange (kl.arange): 0..n-1 over one dim, printed and parsed back; emitted as
// tl.arange over the dim's register extent (int32, converted for other dtypes). Lanes past a
// static size that is not a power of two are masked where it matters (the reduction).

builtin.module {
  tile.kernel @ar(%out: !tile.tensor<[s0], i64>) attributes {size_hints = {s0 = 100 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.arange ["block_0"] dtype i64 : !tile.block<[block_0], i64>
      %b = tile.arange ["5"] dtype i32 : !tile.block<[5], i32>
      %s = tile.reduce "sum" %b dim 0 : i64 : !tile.block<[5], i32> -> !tile.block<[], i64>
      %v = tile.binary "add" %a, %s : !tile.block<[block_0], i64>, !tile.block<[], i64> -> !tile.block<[block_0], i64>
      tile.store %v, %out[%t] ["tile"] : !tile.block<[block_0], i64>, !tile.tensor<[s0], i64>, !tile.tile<block_0>
    }
  }
}

// IR:      tile.arange ["block_0"] dtype i64 : !tile.block<[block_0], i64>
// IR-NEXT: tile.arange ["5"] dtype i32 : !tile.block<[5], i32>

// CHECK:      [[A:v[0-9]+]] = tl.arange(0, BLOCK_0).to(tl.int64)
// CHECK-NEXT: [[B:v[0-9]+]] = tl.arange(0, 8)
// CHECK-NEXT: t{{[0-9]+}} = tl.where((tl.arange(0, 8) < 5), [[B]]

// RUN: kc-opt %s -p shape-inference --emit "triton{block-sizes=16,64}" | filecheck %s
// RUN: kc-opt %s -p shape-inference --emit "triton{block-sizes=16,128}" | filecheck %s --check-prefix=UNEVEN

// `size_divisors` promises a power of two that divides each size in every launch (the runtime
// puts it in the specialization key). A loop from 0 to a size its block divides has only whole
// tiles, so the emitter drops its bounds mask and the `tl.where` of every reduction over it;
// a whole dim whose size equals its register extent (s2 = 64) loses its mask too. s0 promises
// only 8, so the 16-row tiles keep their mask. With a 128-wide block (UNEVEN), 64 no longer
// divides: s1's loop runs its whole tiles unmasked and peels the ragged last one into a
// masked copy of the body.

builtin.module {
  tile.kernel @rowsum_kernel(%x: !tile.tensor<[s0, s1], f32>, %w: !tile.tensor<[s2], f32>, %out: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 24 : i64, s1 = 192 : i64, s2 = 64 : i64}, size_divisors = {s0 = 8 : i64, s1 = 64 : i64, s2 = 64 : i64}} {
    %m = tile.size "s0" : !tile.block<[], i64>
    %n = tile.size "s1" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %m block block_0 kind tile parallel {
      %z = tile.constant 0.0 : f32 : !tile.block<[], f32>
      %acc0 = tile.full %z shape ["block_0"] dtype f32 : !tile.block<[], f32> -> !tile.block<?>
      %acc = tile.for %c = %c0 to %n block block_1 kind tile iter_args(%a = %acc0) -> (!tile.block<?>) {
        %v = tile.load %x[%t, %c] ["tile", "tile"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<block_1> -> !tile.block<?>
        %s = tile.reduce "sum" %v dim 1 : i64 : !tile.block<?> -> !tile.block<?>
        %a2 = tile.binary "add" %a, %s : !tile.block<?>, !tile.block<?> -> !tile.block<?>
        tile.yield %a2 : !tile.block<?>
      }
      %wv = tile.load %w[] ["full"] : !tile.tensor<[s2], f32>, -> !tile.block<?>
      %ws = tile.reduce "sum" %wv dim 0 : i64 : !tile.block<?> -> !tile.block<?>
      %r = tile.binary "mul" %acc, %ws : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      tile.store %r, %out[%t] ["tile"] : !tile.block<?>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK:       mask_[[M:[0-9]+]] = offs_[[M]] < s0
// CHECK:       for begin_[[K:[0-9]+]] in tl.range(0, s1, BLOCK_1):
// CHECK-NOT:   mask_[[K]] =
// CHECK:       [[V:v[0-9]+]] = tl.load(x_ptr + {{.*}}, mask=mask_[[M]][:, None], other=0.0)
// CHECK-NEXT:  {{v[0-9]+}} = tl.sum([[V]], axis=1)
// CHECK:       [[W:v[0-9]+]] = tl.load(w_ptr + tl.arange(0, RDIM_S2) * w_stride_0)
// CHECK-NEXT:  {{v[0-9]+}} = tl.sum([[W]], axis=0)
// CHECK:       tl.store(out_ptr + {{.*}}, mask=mask_[[M]])

// UNEVEN:      full_[[K:[0-9]+]] = s1 // BLOCK_1 * BLOCK_1
// UNEVEN-NEXT: for begin_[[K]] in tl.range(0, full_[[K]], BLOCK_1):
// UNEVEN-NOT:  mask_[[K]] =
// UNEVEN:      [[V:v[0-9]+]] = tl.load(x_ptr + {{.*}}, mask=mask_{{[0-9]+}}[:, None], other=0.0)
// UNEVEN-NEXT: {{v[0-9]+}} = tl.sum([[V]], axis=1)
// UNEVEN:      for begin_[[K]] in tl.range(full_[[K]], s1, BLOCK_1):
// UNEVEN:      mask_[[K]] = offs_[[K]] < s1
// UNEVEN:      tl.where({{.*}}mask_[[K]]{{.*}}, 0)

// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// tile.atomic (kl.atomic_*): kind, value, indexed tensor, memory order; cas adds `compare`.
// Emitted as tl.atomic_<kind> on the access's pointers and mask with an explicit sem; the
// result is the old values.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>, %out: !tile.tensor<[s0], f32>, %flags: !tile.tensor<[4], i32>) attributes {size_hints = {s0 = 100 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      %old = tile.atomic "add" %v, %out[%t] ["tile"] sem "acq_rel" : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      %i = tile.constant 2 : i64 : !tile.block<[], i64>
      %e = tile.constant 0 : i32 : !tile.block<[], i32>
      %w = tile.constant 7 : i32 : !tile.block<[], i32>
      %prev = tile.atomic "cas" %w, %flags[%i] ["scalar"] compare %e : !tile.block<[], i32> sem "relaxed" : !tile.block<[], i32>, !tile.tensor<[4], i32>, !tile.block<[], i64> -> !tile.block<[], i32>
    }
  }
}

// IR:      tile.atomic "add" %{{.*}}, %out[%{{.*}}] ["tile"] sem "acq_rel" : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
// IR:      tile.atomic "cas" %{{.*}}, %flags[%{{.*}}] ["scalar"] compare %{{.*}} : !tile.block<[], i32> sem "relaxed"

// CHECK:      [[V:v[0-9]+]] = tl.load(x_ptr
// CHECK-NEXT: v{{[0-9]+}} = tl.atomic_add(out_ptr + offs_{{[0-9]+}} * out_stride_0, [[V]], mask=mask_{{[0-9]+}}, sem="acq_rel")
// CHECK:      v{{[0-9]+}} = tl.atomic_cas(flags_ptr + 2 * flags_stride_0, 0, 7, sem="relaxed")

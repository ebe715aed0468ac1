// RUN: kc-opt %s -p shape-inference --emit "triton{block-sizes=16,32}" | filecheck %s
// RUN: kc-opt %s -p shape-inference --emit "triton{block-sizes=16,32 index-checks=false}" | filecheck %s --check-prefix=OFF

// A gather (an embedding lookup: rows of %w at indices loaded from %idx) is bounds-checked:
// lanes whose index is outside [0, s2) are live-masked into `bad`, carried in registers from the
// kernel's start (which lanes failed and a bad value), left out of the gather's mask, so they
// never touch memory, and recorded once after the loops (the kernel's error flag; this site's
// two words of the records: the size plus one and a bad value). The tile-indexed loads and the store
// are not computed indices and stay as they were. With index-checks=false (the runtime's
// KCOMPILER_INDEX_CHECKS=0) the gather is emitted unchecked and the kernel has no error buffer.

builtin.module {
  tile.kernel @embedding_kernel(%idx: !tile.tensor<[s0], i64>, %w: !tile.tensor<[s2, s1], f32>, %out: !tile.tensor<[s0, s1], f32>) attributes {size_hints = {s0 = 100 : i64, s1 = 64 : i64, s2 = 10 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %d = tile.size "s1" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %b = %c0 to %n block block_0 kind tile parallel {
      tile.for %e = %c0 to %d block block_1 kind tile parallel {
        %i = tile.load %idx[%b] ["tile"] : !tile.tensor<[s0], i64>, !tile.tile<block_0> -> !tile.block<?>
        %rows = tile.load %w[%i, %e] ["gather", "tile"] : !tile.tensor<[s2, s1], f32>, !tile.block<?>, !tile.tile<block_1> -> !tile.block<?>
        tile.store %rows, %out[%b, %e] ["tile", "tile"] : !tile.block<?>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<block_1>
      }
    }
  }
}

// CHECK:       def embedding_kernel(
// CHECK:           out_ptr,
// CHECK-NEXT:      kc_errors_ptr,
// CHECK-NEXT:      kc_error_flag_ptr,
// CHECK:           kc_bad_0 = tl.zeros((BLOCK_0,), tl.int1)
// CHECK-NEXT:      kc_value_0 = tl.zeros((BLOCK_0,), tl.int64)
// CHECK:           mask_[[B:[0-9]+]] = offs_[[B]] < s0
// CHECK:           [[I:v[0-9]+]] = tl.load(idx_ptr + offs_[[B]] * idx_stride_0, mask=mask_[[B]], other=0)
// CHECK-NEXT:      [[OOB:oob_[0-9]+]] = ([[I]] < 0) | ([[I]] >= s2)
// CHECK-NEXT:      [[BAD:bad_[0-9]+]] = (mask_[[B]]) & [[OOB]]
// CHECK-NEXT:      kc_bad_0 = kc_bad_0 | [[BAD]]
// CHECK-NEXT:      kc_value_0 = tl.where([[BAD]], [[I]], kc_value_0)
// CHECK-NEXT:      {{v[0-9]+}} = tl.load(w_ptr + [[I]][:, None] * w_stride_0 + {{.*}}, mask={{.*}}(([[OOB]] == 0)[:, None]), other=0.0)
// CHECK:           tl.store(out_ptr
// CHECK-NEXT:      if tl.max(kc_bad_0.to(tl.int32)) > 0:
// CHECK-NEXT:          tl.store(kc_error_flag_ptr, 1)
// CHECK-NEXT:          tl.store(kc_errors_ptr + 0, s2 + 1)
// CHECK-NEXT:          tl.store(kc_errors_ptr + 1, tl.max(tl.where(kc_bad_0, kc_value_0, -9223372036854775807)))
// CHECK-NOT:       kc_error
// CHECK:       def launch_embedding_kernel(
// CHECK:           return embedding_kernel[(num_tiles,)](idx, w, out, kc_errors, kc_error_flag, idx.stride(0)

// OFF:         def embedding_kernel(
// OFF-NOT:     kc_errors
// OFF:         {{v[0-9]+}} = tl.load(w_ptr + {{v[0-9]+}}[:, None] * w_stride_0 + {{.*}}, mask=(mask_{{[0-9]+}}[:, None]) & (mask_{{[0-9]+}}[None, :]), other=0.0)
// OFF-NOT:     kc_errors

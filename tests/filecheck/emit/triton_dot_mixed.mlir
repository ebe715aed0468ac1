// RUN: kc-opt %s -t triton | filecheck %s

// A tile.dot whose operands have different element types (valid IR: the Python frontend casts
// them first, but IR written by hand or by another producer need not) multiplies both in
// their promoted type, as torch.promote_types: f16 x bf16 in float32, f16 x f32 and
// f32 x f8E5M2 in float32. Two fp8 types stay as they are (Hopper's MMA takes e4m3 x e5m2).
// A product promoted to float32 is a float32 dot, with torch's float32 precision ("ieee"
// unless the user allows TF32) rather than Triton's TF32 default.

builtin.module {
  tile.kernel @mixed(%a: !tile.tensor<[s0, s2], f16>, %b: !tile.tensor<[s2, s1], bf16>, %w: !tile.tensor<[s2, s1], f32>, %f: !tile.tensor<[s0, s2], f8E4M3FN>, %g: !tile.tensor<[s2, s1], f8E5M2>, %x: !tile.tensor<[s0, s2], f32>, %out: !tile.tensor<[s0, s1], f32>) attributes {size_hints = {s0 = 32 : i64, s1 = 32 : i64, s2 = 32 : i64}} {
    %nm = tile.size "s0" : !tile.block<[], i64>
    %nn = tile.size "s1" : !tile.block<[], i64>
    %nk = tile.size "s2" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    %z = tile.constant 0.000000e+00 : f32 : !tile.block<[], f32>
    tile.for %tm = %c0 to %nm block block_0 kind tile parallel {
      tile.for %tn = %c0 to %nn block block_1 kind tile parallel {
        %acc = tile.full %z shape ["block_0", "block_1"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0, block_1], f32>
        %res = tile.for %tk = %c0 to %nk block block_2 kind tile iter_args(%c = %acc) -> (!tile.block<[block_0, block_1], f32>) {
          %av = tile.load %a[%tm, %tk] ["tile", "tile"] : !tile.tensor<[s0, s2], f16>, !tile.tile<block_0>, !tile.tile<block_2> -> !tile.block<[block_0, block_2], f16>
          %bv = tile.load %b[%tk, %tn] ["tile", "tile"] : !tile.tensor<[s2, s1], bf16>, !tile.tile<block_2>, !tile.tile<block_1> -> !tile.block<[block_2, block_1], bf16>
          %wv = tile.load %w[%tk, %tn] ["tile", "tile"] : !tile.tensor<[s2, s1], f32>, !tile.tile<block_2>, !tile.tile<block_1> -> !tile.block<[block_2, block_1], f32>
          %d = tile.dot %av, %bv, %c : !tile.block<[block_0, block_2], f16>, !tile.block<[block_2, block_1], bf16>, !tile.block<[block_0, block_1], f32> -> !tile.block<[block_0, block_1], f32>
          %e = tile.dot %av, %wv, %d : !tile.block<[block_0, block_2], f16>, !tile.block<[block_2, block_1], f32>, !tile.block<[block_0, block_1], f32> -> !tile.block<[block_0, block_1], f32>
          %fv = tile.load %f[%tm, %tk] ["tile", "tile"] : !tile.tensor<[s0, s2], f8E4M3FN>, !tile.tile<block_0>, !tile.tile<block_2> -> !tile.block<[block_0, block_2], f8E4M3FN>
          %gv = tile.load %g[%tk, %tn] ["tile", "tile"] : !tile.tensor<[s2, s1], f8E5M2>, !tile.tile<block_2>, !tile.tile<block_1> -> !tile.block<[block_2, block_1], f8E5M2>
          %xv = tile.load %x[%tm, %tk] ["tile", "tile"] : !tile.tensor<[s0, s2], f32>, !tile.tile<block_0>, !tile.tile<block_2> -> !tile.block<[block_0, block_2], f32>
          %p = tile.dot %fv, %gv, %e : !tile.block<[block_0, block_2], f8E4M3FN>, !tile.block<[block_2, block_1], f8E5M2>, !tile.block<[block_0, block_1], f32> -> !tile.block<[block_0, block_1], f32>
          %q = tile.dot %xv, %gv, %p : !tile.block<[block_0, block_2], f32>, !tile.block<[block_2, block_1], f8E5M2>, !tile.block<[block_0, block_1], f32> -> !tile.block<[block_0, block_1], f32>
          tile.yield %q : !tile.block<[block_0, block_1], f32>
        }
        tile.store %res, %out[%tm, %tn] ["tile", "tile"] : !tile.block<[block_0, block_1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<block_1>
      }
    }
  }
}


// CHECK:      [[A:v[0-9]+]] = tl.load(a_ptr
// CHECK-NEXT: [[B:v[0-9]+]] = tl.load(b_ptr
// CHECK-NEXT: [[W:v[0-9]+]] = tl.load(w_ptr
// CHECK-NEXT: [[D:v[0-9]+]] = tl.dot([[A]].to(tl.float32), [[B]].to(tl.float32), [[C:c[0-9]+]], input_precision="ieee")
// CHECK-NEXT: [[E:v[0-9]+]] = tl.dot([[A]].to(tl.float32), [[W]], [[D]], input_precision="ieee")
// CHECK-NEXT: [[F:v[0-9]+]] = tl.load(f_ptr
// CHECK-NEXT: [[G:v[0-9]+]] = tl.load(g_ptr
// CHECK-NEXT: [[X:v[0-9]+]] = tl.load(x_ptr
// CHECK-NEXT: [[P:v[0-9]+]] = tl.dot([[F]], [[G]], [[E]], max_num_imprecise_acc=BLOCK_2)
// CHECK-NEXT: [[Q:v[0-9]+]] = tl.dot([[X]], [[G]].to(tl.float32), [[P]], input_precision="ieee")
// CHECK-NEXT: [[C]] = [[Q]]

// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// A 3-D tile.dot (torch.bmm/baddbmm on blocks [batch, m, k] x [batch, k, n]) prints and
// parses back unchanged and lowers to a batched tl.dot; the masked K lanes of a computed
// operand are zeroed with a mask that has a leading batch axis.

builtin.module {
  tile.kernel @bmm(%a: !tile.tensor<[s0, s1, s2], f16>, %b: !tile.tensor<[s0, s2, s3], f16>, %out: !tile.tensor<[s0, s1, s3], f32>) attributes {size_hints = {s0 = 2 : i64, s1 = 32 : i64, s2 = 40 : i64, s3 = 32 : i64}} {
    %nb = tile.size "s0" : !tile.block<[], i64>
    %nm = tile.size "s1" : !tile.block<[], i64>
    %nn = tile.size "s3" : !tile.block<[], i64>
    %nk = tile.size "s2" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    %z = tile.constant 0.000000e+00 : f32 : !tile.block<[], f32>
    tile.for %tb = %c0 to %nb block block_0 kind tile parallel {
      tile.for %tm = %c0 to %nm block block_1 kind tile parallel {
        tile.for %tn = %c0 to %nn block block_2 kind tile parallel {
          %acc = tile.full %z shape ["block_0", "block_1", "block_2"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0, block_1, block_2], f32>
          %res = tile.for %tk = %c0 to %nk block block_3 kind tile iter_args(%c = %acc) -> (!tile.block<[block_0, block_1, block_2], f32>) {
            %av = tile.load %a[%tb, %tm, %tk] ["tile", "tile", "tile"] : !tile.tensor<[s0, s1, s2], f16>, !tile.tile<block_0>, !tile.tile<block_1>, !tile.tile<block_3> -> !tile.block<[block_0, block_1, block_3], f16>
            %bv = tile.load %b[%tb, %tk, %tn] ["tile", "tile", "tile"] : !tile.tensor<[s0, s2, s3], f16>, !tile.tile<block_0>, !tile.tile<block_3>, !tile.tile<block_2> -> !tile.block<[block_0, block_3, block_2], f16>
            %ae = tile.unary "exp" %av : !tile.block<[block_0, block_1, block_3], f16> -> !tile.block<[block_0, block_1, block_3], f16>
            %d = tile.dot %ae, %bv, %c : !tile.block<[block_0, block_1, block_3], f16>, !tile.block<[block_0, block_3, block_2], f16>, !tile.block<[block_0, block_1, block_2], f32> -> !tile.block<[block_0, block_1, block_2], f32>
            tile.yield %d : !tile.block<[block_0, block_1, block_2], f32>
          }
          tile.store %res, %out[%tb, %tm, %tn] ["tile", "tile", "tile"] : !tile.block<[block_0, block_1, block_2], f32>, !tile.tensor<[s0, s1, s3], f32>, !tile.tile<block_0>, !tile.tile<block_1>, !tile.tile<block_2>
        }
      }
    }
  }
}

// IR: tile.dot %{{.*}}, %{{.*}}, %{{.*}} : !tile.block<[block_0, block_1, block_3], f16>, !tile.block<[block_0, block_3, block_2], f16>, !tile.block<[block_0, block_1, block_2], f32> -> !tile.block<[block_0, block_1, block_2], f32>

// CHECK:      [[E:v[0-9]+]] = tl.exp([[A:v[0-9]+]].to(tl.float32))
// CHECK-NEXT: [[Z:t[0-9]+]] = tl.where(mask_5[None, None, :], [[E]].to(tl.float16), 0)
// CHECK-NEXT: [[D:v[0-9]+]] = tl.dot([[Z]], [[B:v[0-9]+]].to(tl.float16), [[C:c[0-9]+]])
// CHECK-NEXT: [[C]] = [[D]]

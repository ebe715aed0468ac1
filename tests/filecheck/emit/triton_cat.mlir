// RUN: kc-opt %s | kc-opt | filecheck %s --check-prefix=IR
// RUN: kc-opt %s -t triton | filecheck %s

// torch.cat([a, b], 0) of [s1, block_0] blocks as the frontend builds it (frontend/concat.py):
// tile.join stacks the pair along a new last dim, tile.permute moves it in front of the
// concatenated dim, and tile.reshape merges the two into a static 8. The reshape is legal
// because s1 is fixed (its divisor equals its hint, a power of two), and the store of the [8,
// block_0] block into out's [s2, ...] is too: s2 is fixed at 8. The registers hold a's rows
// then b's, torch's order.

builtin.module {
  tile.kernel @cat(%x: !tile.tensor<[s1, s0], f32>, %y: !tile.tensor<[s1, s0], f32>, %out: !tile.tensor<[s2, s0], f32>) attributes {size_hints = {s0 = 13 : i64, s1 = 4 : i64, s2 = 8 : i64}, size_divisors = {s0 = 1 : i64, s1 = 4 : i64, s2 = 8 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["full", "tile"] : !tile.tensor<[s1, s0], f32>, !tile.tile<block_0> -> !tile.block<[s1, block_0], f32>
      %b = tile.load %y[%t] ["full", "tile"] : !tile.tensor<[s1, s0], f32>, !tile.tile<block_0> -> !tile.block<[s1, block_0], f32>
      %j = tile.join %a, %b : !tile.block<[s1, block_0], f32>, !tile.block<[s1, block_0], f32> -> !tile.block<[s1, block_0, 2], f32>
      %p = tile.permute %j perm [2 : i64, 0 : i64, 1 : i64] : !tile.block<[s1, block_0, 2], f32> -> !tile.block<[2, s1, block_0], f32>
      %c = tile.reshape %p to ["8", "block_0"] : !tile.block<[2, s1, block_0], f32> -> !tile.block<[8, block_0], f32>
      tile.store %c, %out[%t] ["full", "tile"] : !tile.block<[8, block_0], f32>, !tile.tensor<[s2, s0], f32>, !tile.tile<block_0>
    }
  }
}

// IR:      tile.join %{{.*}}, %{{.*}} : !tile.block<[s1, block_0], f32>, !tile.block<[s1, block_0], f32> -> !tile.block<[s1, block_0, 2], f32>
// IR:      tile.permute %{{.*}} perm [2 : i64, 0 : i64, 1 : i64] : !tile.block<[s1, block_0, 2], f32> -> !tile.block<[2, s1, block_0], f32>
// IR:      tile.reshape %{{.*}} to ["8", "block_0"] : !tile.block<[2, s1, block_0], f32> -> !tile.block<[8, block_0], f32>
// IR:      tile.store %{{.*}}, %{{.*}}[%{{.*}}] ["full", "tile"] : !tile.block<[8, block_0], f32>, !tile.tensor<[s2, s0], f32>

// CHECK:      [[J:v[0-9]+]] = tl.join([[A:v[0-9]+]], [[B:v[0-9]+]])
// CHECK-NEXT: [[P:v[0-9]+]] = tl.permute([[J]], (2, 0, 1))
// CHECK-NEXT: [[C:v[0-9]+]] = tl.reshape([[P]], (8, BLOCK_0))
// CHECK-NEXT: tl.store(out_ptr + tl.arange(0, RDIM_S2)[:, None] * out_stride_0 + {{.*}}, [[C]],

// RUN: kc-opt %s --split-input-file -p 'split-reductions{dim=s1 chunk=64}' | filecheck %s
// RUN: kc-opt %s --split-input-file -p 'split-reductions{chunk=0}' | filecheck %s --check-prefix=KEEP
// RUN: kc-opt %s --split-input-file -p 'split-reductions{chunk=64}' | filecheck %s

// split-reductions computes every reduction over the whole dim s1 in a sequential tile.for
// over chunks (block symbol rblock_s1) with the accumulator as an iter_arg, recomputing the
// values it needs from re-issued loads; stores of s1-valued values are recomputed in a
// loop of their own. `chunk=0` (reduction_loops=[None]) keeps everything in registers.
// The chunk size is recorded on each new loop as `block_size`, for backends that need it.

// A row sum: one loop, the load indexed by the chunk tile.
builtin.module {
  tile.kernel @row_sum(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %sum = tile.reduce "sum" %a dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      tile.store %sum, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @row_sum(
// CHECK:      tile.for %t = %c0 to %n block block_0 kind tile parallel {
// CHECK-NEXT:   %[[LB:.*]] = tile.constant 0 : i64
// CHECK-NEXT:   %[[UB:.*]] = tile.size "s1"
// CHECK-NEXT:   %[[ZERO:.*]] = tile.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[INIT:.*]] = tile.full %[[ZERO]] shape ["block_0"] dtype f32
// CHECK-NEXT:   %[[SUM:.*]] = tile.for %chunk = %[[LB]] to %[[UB]] block rblock_s1 kind tile iter_args(%acc = %[[INIT]]) -> (!tile.block<[block_0], f32>) attributes {block_size = 64 : i64} {
// CHECK-NEXT:     %a = tile.load %x[%t, %chunk] ["tile", "tile"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<rblock_s1> -> !tile.block<[block_0, rblock_s1], f32>
// CHECK-NEXT:     %[[PART:.*]] = tile.reduce "sum" %a dim 1 : i64 : !tile.block<[block_0, rblock_s1], f32> -> !tile.block<[block_0], f32>
// CHECK-NEXT:     %[[NEXT:.*]] = tile.binary "add" %acc, %[[PART]]
// CHECK-NEXT:     tile.yield %[[NEXT]] : !tile.block<[block_0], f32>
// CHECK-NEXT:   }
// CHECK-NEXT:   tile.store %[[SUM]], %out[%t] ["tile"]
// CHECK-NOT:  s1]
// KEEP-LABEL: tile.kernel @row_sum(
// KEEP-NOT:   rblock_s1
// KEEP:       tile.reduce "sum" %a dim 1 : i64 : !tile.block<[block_0, s1], f32>

// -----
// rms_norm: the sum of squares is one loop; the normalized row, stored, is recomputed in a
// second loop that re-loads x and loads weight chunk by chunk.
builtin.module {
  tile.kernel @rms_norm(%x: !tile.tensor<[s0, s1], f32>, %eps: !tile.block<[], f32>, %weight: !tile.tensor<[s1], f32>, %out: !tile.tensor<[s0, s1], f32>, %inv_rms: !tile.tensor<[s0], f32>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %m block block_0 kind tile parallel {
      %xt = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %sq = tile.binary "mul" %xt, %xt : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %n = tile.size "s1" : !tile.block<[], i64>
      %ss = tile.reduce "sum" %sq dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      %ms = tile.binary "div" %ss, %n : !tile.block<[block_0], f32>, !tile.block<[], i64> -> !tile.block<[block_0], f32>
      %me = tile.binary "add" %ms, %eps : !tile.block<[block_0], f32>, !tile.block<[], f32> -> !tile.block<[block_0], f32>
      %inv = tile.unary "rsqrt" %me : !tile.block<[block_0], f32> -> !tile.block<[block_0], f32>
      %inv2 = tile.reshape %inv to ["block_0", "1"] : !tile.block<[block_0], f32> -> !tile.block<[block_0, 1], f32>
      %nx = tile.binary "mul" %xt, %inv2 : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, 1], f32> -> !tile.block<[block_0, s1], f32>
      %w = tile.load %weight[] ["full"] : !tile.tensor<[s1], f32>, -> !tile.block<[s1], f32>
      %y = tile.binary "mul" %nx, %w : !tile.block<[block_0, s1], f32>, !tile.block<[s1], f32> -> !tile.block<[block_0, s1], f32>
      tile.store %y, %out[%t] ["tile", "full"] : !tile.block<[block_0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
      tile.store %inv, %inv_rms[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @rms_norm(
// CHECK:      %[[SS:.*]] = tile.for %chunk = %{{.*}} to %{{.*}} block rblock_s1 kind tile iter_args(%acc = %{{.*}}) -> (!tile.block<[block_0], f32>) attributes {block_size = 64 : i64} {
// CHECK-NEXT:   %xt = tile.load %x[%t, %chunk] ["tile", "tile"]
// CHECK-NEXT:   %sq = tile.binary "mul" %xt, %xt : !tile.block<[block_0, rblock_s1], f32>, !tile.block<[block_0, rblock_s1], f32> -> !tile.block<[block_0, rblock_s1], f32>
// CHECK-NEXT:   %[[P:.*]] = tile.reduce "sum" %sq dim 1
// CHECK-NEXT:   %[[A:.*]] = tile.binary "add" %acc, %[[P]]
// CHECK-NEXT:   tile.yield %[[A]]
// CHECK-NEXT: }
// CHECK:      %ms = tile.binary "div" %[[SS]], %n
// CHECK:      %inv2 = tile.reshape %inv
// CHECK:      tile.for %[[C2:.*]] = %{{.*}} to %{{.*}} block rblock_s1 kind tile attributes {block_size = 64 : i64} {
// CHECK-NEXT:   %[[XT:.*]] = tile.load %x[%t, %[[C2]]] ["tile", "tile"]
// CHECK-NEXT:   %[[NX:.*]] = tile.binary "mul" %[[XT]], %inv2
// CHECK-NEXT:   %[[W:.*]] = tile.load %weight[%[[C2]]] ["tile"] : !tile.tensor<[s1], f32>, !tile.tile<rblock_s1> -> !tile.block<[rblock_s1], f32>
// CHECK-NEXT:   %[[Y:.*]] = tile.binary "mul" %[[NX]], %[[W]]
// CHECK-NEXT:   tile.store %[[Y]], %out[%t, %[[C2]]] ["tile", "tile"] : !tile.block<[block_0, rblock_s1], f32>
// CHECK-NEXT: }
// CHECK-NEXT: tile.store %inv, %inv_rms[%t] ["tile"]

// -----
// softmax: max and sum of exp(x - max) fuse into one loop (online softmax): the running
// max m and the sum l are carried, l is rescaled by exp(m - m') each chunk. A max still at
// -inf is replaced by 0 so that -inf - -inf never happens. The store loop re-loads x.
builtin.module {
  tile.kernel @softmax(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0, s1], f32>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %m block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %mx = tile.reduce "max" %v dim 1 : i64 keepdim : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 1], f32>
      %d = tile.binary "sub" %v, %mx : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, 1], f32> -> !tile.block<[block_0, s1], f32>
      %e = tile.unary "exp" %d : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %l = tile.reduce "sum" %e dim 1 : i64 keepdim : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 1], f32>
      %p = tile.binary "div" %e, %l : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, 1], f32> -> !tile.block<[block_0, s1], f32>
      tile.store %p, %out[%t] ["tile", "full"] : !tile.block<[block_0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @softmax(
// CHECK:      %[[NEGINF:.*]] = tile.constant 0xff800000 : f32
// CHECK-NEXT: %[[M0:.*]] = tile.full %[[NEGINF]] shape ["block_0", "1"] dtype f32
// CHECK-NEXT: %[[ZERO:.*]] = tile.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[L0:.*]] = tile.full %[[ZERO]] shape ["block_0", "1"] dtype f32
// CHECK-NEXT: %[[MX:.*]], %[[L:.*]] = tile.for %chunk = %{{.*}} to %{{.*}} block rblock_s1 kind tile iter_args(%[[MA:.*]] = %[[M0]], %[[LA:.*]] = %[[L0]])
// CHECK-NEXT:   %v = tile.load %x[%t, %chunk] ["tile", "tile"]
// CHECK-NEXT:   %[[CM:.*]] = tile.reduce "max" %v dim 1 : i64 keepdim : !tile.block<[block_0, rblock_s1], f32> -> !tile.block<[block_0, 1], f32>
// CHECK-NEXT:   %[[MN:.*]] = tile.binary "maximum" %[[MA]], %[[CM]]
// CHECK-NEXT:   %{{.*}} = tile.constant 0xff800000 : f32
// CHECK-NEXT:   %[[ISINF:.*]] = tile.binary "eq" %[[MN]]
// CHECK-NEXT:   %{{.*}} = tile.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[MS:.*]] = tile.select %[[ISINF]], %{{.*}}, %[[MN]]
// CHECK-NEXT:   %[[D:.*]] = tile.binary "sub" %v, %[[MS]]
// CHECK-NEXT:   %[[E:.*]] = tile.unary "exp" %[[D]]
// CHECK-NEXT:   %[[CS:.*]] = tile.reduce "sum" %[[E]] dim 1 : i64 keepdim
// CHECK-NEXT:   %[[DM:.*]] = tile.binary "sub" %[[MA]], %[[MS]]
// CHECK-NEXT:   %[[ALPHA:.*]] = tile.unary "exp" %[[DM]]
// CHECK-NEXT:   %[[SCALED:.*]] = tile.binary "mul" %[[LA]], %[[ALPHA]]
// CHECK-NEXT:   %[[LN:.*]] = tile.binary "add" %[[SCALED]], %[[CS]]
// CHECK-NEXT:   tile.yield %[[MN]], %[[LN]]
// CHECK-NEXT: }
// CHECK-NEXT: %{{.*}} = tile.constant 0 : i64
// CHECK-NEXT: %{{.*}} = tile.size "s1"
// CHECK-NEXT: tile.for %[[C2:.*]] = %{{.*}} block rblock_s1 kind tile attributes {block_size = 64 : i64} {
// CHECK-NEXT:   %[[V2:.*]] = tile.load %x[%t, %[[C2]]]
// CHECK-NEXT:   %[[D2:.*]] = tile.binary "sub" %[[V2]], %[[MX]]
// CHECK-NEXT:   %[[E2:.*]] = tile.unary "exp" %[[D2]]
// CHECK-NEXT:   %[[P2:.*]] = tile.binary "div" %[[E2]], %[[L]]
// CHECK-NEXT:   tile.store %[[P2]], %out[%t, %[[C2]]] ["tile", "tile"]
// CHECK-NEXT: }
// CHECK-NEXT: }

// -----
// layer_norm: the mean and the centered sum of squares become one loop of running Welford
// statistics (shift, mean, M2; split_reductions_welford.mlir checks the step); the store is a
// second loop. The stores of mean and rstd (no s1) stay where they were.
builtin.module {
  tile.kernel @layer_norm(%x: !tile.tensor<[s0, s1], f32>, %eps: !tile.block<[], f32>, %bias: !tile.tensor<[s1], f32>, %weight: !tile.tensor<[s1], f32>, %out: !tile.tensor<[s0, s1], f32>, %mean: !tile.tensor<[s0], f32>, %rstd: !tile.tensor<[s0], f32>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %m block block_0 kind tile parallel {
      %xt = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %s = tile.reduce "sum" %xt dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      %n = tile.size "s1" : !tile.block<[], i64>
      %mu = tile.binary "div" %s, %n : !tile.block<[block_0], f32>, !tile.block<[], i64> -> !tile.block<[block_0], f32>
      %mu2 = tile.reshape %mu to ["block_0", "1"] : !tile.block<[block_0], f32> -> !tile.block<[block_0, 1], f32>
      %c = tile.binary "sub" %xt, %mu2 : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, 1], f32> -> !tile.block<[block_0, s1], f32>
      %c2 = tile.binary "mul" %c, %c : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %vs = tile.reduce "sum" %c2 dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      %var = tile.binary "div" %vs, %n : !tile.block<[block_0], f32>, !tile.block<[], i64> -> !tile.block<[block_0], f32>
      %ve = tile.binary "add" %var, %eps : !tile.block<[block_0], f32>, !tile.block<[], f32> -> !tile.block<[block_0], f32>
      %r = tile.unary "rsqrt" %ve : !tile.block<[block_0], f32> -> !tile.block<[block_0], f32>
      %r2 = tile.reshape %r to ["block_0", "1"] : !tile.block<[block_0], f32> -> !tile.block<[block_0, 1], f32>
      %nx = tile.binary "mul" %c, %r2 : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, 1], f32> -> !tile.block<[block_0, s1], f32>
      %w = tile.load %weight[] ["full"] : !tile.tensor<[s1], f32>, -> !tile.block<[s1], f32>
      %y = tile.binary "mul" %nx, %w : !tile.block<[block_0, s1], f32>, !tile.block<[s1], f32> -> !tile.block<[block_0, s1], f32>
      %b = tile.load %bias[] ["full"] : !tile.tensor<[s1], f32>, -> !tile.block<[s1], f32>
      %yb = tile.binary "add" %y, %b : !tile.block<[block_0, s1], f32>, !tile.block<[s1], f32> -> !tile.block<[block_0, s1], f32>
      tile.store %yb, %out[%t] ["tile", "full"] : !tile.block<[block_0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
      tile.store %mu, %mean[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
      tile.store %r, %rstd[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @layer_norm(
// CHECK:      %[[K:.*]], %[[MEAN:.*]], %[[M2:.*]] = tile.for %chunk = {{.*}} block rblock_s1 kind tile iter_args
// CHECK-NEXT:   %xt = tile.load %x[%t, %chunk]
// CHECK-NOT:    tile.load
// CHECK:        tile.yield
// CHECK-NEXT: }
// CHECK:      %[[KM:.*]] = tile.binary "add" %[[K]], %[[MEAN]]
// CHECK-NEXT: %[[S:.*]] = tile.binary "mul" %[[KM]]
// CHECK:      %mu = tile.binary "div" %[[S]], %n
// CHECK-NEXT: %mu2 = tile.reshape %mu
// CHECK:      %[[VS:.*]] = tile.binary "add" %[[M2]]
// CHECK-NEXT: %var = tile.binary "div" %[[VS]], %n
// CHECK-NOT:  rblock_s1 kind tile iter_args
// CHECK:      tile.for %[[C3:.*]] = {{.*}} block rblock_s1 kind tile attributes {block_size = 64 : i64} {
// CHECK-NEXT:   %[[X3:.*]] = tile.load %x[%t, %[[C3]]]
// CHECK-NEXT:   %[[C:.*]] = tile.binary "sub" %[[X3]], %mu2
// CHECK-NEXT:   %[[N:.*]] = tile.binary "mul" %[[C]], %r2
// CHECK-NEXT:   %[[W:.*]] = tile.load %weight[%[[C3]]]
// CHECK-NEXT:   %[[Y:.*]] = tile.binary "mul" %[[N]], %[[W]]
// CHECK-NEXT:   %[[B:.*]] = tile.load %bias[%[[C3]]]
// CHECK-NEXT:   %[[YB:.*]] = tile.binary "add" %[[Y]], %[[B]]
// CHECK-NEXT:   tile.store %[[YB]], %out[%t, %[[C3]]]
// CHECK-NEXT: }
// CHECK-NEXT: tile.store %mu, %mean[%t]
// CHECK-NEXT: tile.store %r, %rstd[%t]

// -----
// argmax carries the best value and its index; a chunk's index is offset by the chunk's
// begin, and only a strictly greater value replaces the best (the first maximum wins). As in
// torch a NaN beats everything: a chunk's value is NaN when it holds one (the max of the
// others plus the sum of its NaNs, else 0), and the first chunk with a NaN keeps the best.
// Half-precision sums accumulate in f32 and are cast back after the loop.
builtin.module {
  tile.kernel @argmax_and_half_sum(%x: !tile.tensor<[s0, s1], bf16>, %i: !tile.tensor<[s0], i64>, %o: !tile.tensor<[s0], bf16>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %m block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], bf16>, !tile.tile<block_0> -> !tile.block<[block_0, s1], bf16>
      %am = tile.reduce "argmax" %v dim 1 : i64 : !tile.block<[block_0, s1], bf16> -> !tile.block<[block_0], i64>
      tile.store %am, %i[%t] ["tile"] : !tile.block<[block_0], i64>, !tile.tensor<[s0], i64>, !tile.tile<block_0>
      %s = tile.reduce "sum" %v dim 1 : i64 : !tile.block<[block_0, s1], bf16> -> !tile.block<[block_0], bf16>
      tile.store %s, %o[%t] ["tile"] : !tile.block<[block_0], bf16>, !tile.tensor<[s0], bf16>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @argmax_and_half_sum(
// CHECK:      %[[VAL:.*]], %[[IDX:.*]] = tile.for %chunk = {{.*}} iter_args(%[[BV:.*]] = %{{.*}}, %[[BI:.*]] = %{{.*}}) -> (!tile.block<[block_0], bf16>, !tile.block<[block_0], i64>)
// CHECK-NEXT:   %v = tile.load %x[%t, %chunk]
// CHECK-NEXT:   %[[NAN:.*]] = tile.binary "ne" %v, %v
// CHECK-NEXT:   %[[NEG:.*]] = tile.constant 0xff80
// CHECK-NEXT:   %[[FIN:.*]] = tile.select %[[NAN]], %[[NEG]], %v
// CHECK-NEXT:   %[[ZERO:.*]] = tile.constant 0.0
// CHECK-NEXT:   %[[NANS:.*]] = tile.select %[[NAN]], %v, %[[ZERO]]
// CHECK-NEXT:   %[[MAX:.*]] = tile.reduce "max" %[[FIN]] dim 1
// CHECK-NEXT:   %[[NS:.*]] = tile.reduce "sum" %[[NANS]] dim 1
// CHECK-NEXT:   %[[CV:.*]] = tile.binary "add" %[[MAX]], %[[NS]]
// CHECK-NEXT:   %[[CI:.*]] = tile.reduce "argmax" %v dim 1
// CHECK-NEXT:   %[[BEGIN:.*]] = tile.tile_attr "begin" %chunk
// CHECK-NEXT:   %[[GI:.*]] = tile.binary "add" %[[CI]], %[[BEGIN]]
// CHECK-NEXT:   %[[GT:.*]] = tile.binary "gt" %[[CV]], %[[BV]]
// CHECK-NEXT:   %[[CN:.*]] = tile.binary "ne" %[[CV]], %[[CV]]
// CHECK-NEXT:   %[[BN:.*]] = tile.binary "eq" %[[BV]], %[[BV]]
// CHECK-NEXT:   %[[FIRST:.*]] = tile.binary "and" %[[CN]], %[[BN]]
// CHECK-NEXT:   %[[B:.*]] = tile.binary "or" %[[GT]], %[[FIRST]]
// CHECK-NEXT:   %[[NI:.*]] = tile.select %[[B]], %[[GI]], %[[BI]]
// CHECK-NEXT:   %[[NV:.*]] = tile.select %[[B]], %[[CV]], %[[BV]]
// CHECK-NEXT:   tile.yield %[[NV]], %[[NI]]
// CHECK:      tile.store %[[IDX]], %i[%t]
// CHECK:      %[[HS:.*]] = tile.for {{.*}} -> (!tile.block<[block_0], f32>)
// CHECK-NEXT:   %[[V2:.*]] = tile.load %x
// CHECK-NEXT:   %[[W:.*]] = tile.cast %[[V2]] to f32
// CHECK-NEXT:   tile.reduce "sum" %[[W]] dim 1
// CHECK:      }
// CHECK-NEXT: %[[BACK:.*]] = tile.cast %[[HS]] to bf16
// CHECK-NEXT: tile.store %[[BACK]], %o[%t]

// -----
// Left untouched: the whole-dim value is carried into a nested loop; a prod reduction.
builtin.module {
  tile.kernel @nested_use(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %sum = tile.reduce "sum" %a dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      %r = tile.for %u = %c0 to %n block block_1 kind tile iter_args(%acc = %a) -> (!tile.block<[block_0, s1], f32>) {
        tile.yield %acc : !tile.block<[block_0, s1], f32>
      }
      tile.store %sum, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
  tile.kernel @prod(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %p = tile.reduce "prod" %a dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      %s = tile.reduce "sum" %a dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      tile.store %p, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @nested_use(
// CHECK-NOT:   rblock_s1
// CHECK:       %sum = tile.reduce "sum" %a dim 1 : i64 : !tile.block<[block_0, s1], f32>
// CHECK-LABEL: tile.kernel @prod(
// CHECK-NOT:   rblock_s1
// CHECK:       %p = tile.reduce "prod" %{{.*}} dim 1

// -----
// Memory order is kept: re-loading %out after the store of the new row would read the new
// values, so this loop is left untouched. Writing the row back in place (softmax with
// x == out) is fine: each chunk is read before it is written.
builtin.module {
  tile.kernel @reload_after_store(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0, s1], f32>, %s: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %old = tile.load %out[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      tile.store %a, %out[%t] ["tile", "full"] : !tile.block<[block_0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
      %sum = tile.reduce "sum" %old dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      tile.store %sum, %s[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
  tile.kernel @in_place(%x: !tile.tensor<[s0, s1], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %mx = tile.reduce "max" %v dim 1 : i64 keepdim : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 1], f32>
      %d = tile.binary "sub" %v, %mx : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, 1], f32> -> !tile.block<[block_0, s1], f32>
      tile.store %d, %x[%t] ["tile", "full"] : !tile.block<[block_0, s1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @reload_after_store(
// CHECK-NOT:   rblock_s1
// CHECK:       %sum = tile.reduce "sum" %old dim 1 : i64 : !tile.block<[block_0, s1], f32>
// CHECK-LABEL: tile.kernel @in_place(
// CHECK:       %[[MX:.*]] = tile.for %chunk = {{.*}} block rblock_s1
// CHECK:       tile.for %[[C:.*]] = {{.*}} block rblock_s1 kind tile attributes {block_size = 64 : i64} {
// CHECK-NEXT:    %[[V:.*]] = tile.load %{{.*}}[%{{.*}}, %[[C]]]
// CHECK-NEXT:    %[[D:.*]] = tile.binary "sub" %[[V]], %[[MX]]
// CHECK-NEXT:    tile.store %[[D]], %{{.*}}[%{{.*}}, %[[C]]]

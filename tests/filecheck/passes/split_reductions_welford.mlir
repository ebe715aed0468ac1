// RUN: kc-opt %s --split-input-file -p 'split-reductions{chunk=64}' | filecheck %s
// RUN: kc-opt %s --split-input-file -p 'split-reductions{chunk=0}' | filecheck %s --check-prefix=KEEP

// split-reductions, variance: `sum((x - c) * (x - c))` (or `(x - c) ** 2`) whose center c
// depends on an earlier reduction of the same loop (c = sum(x) / n) does not get a loop of its
// own. It joins that loop as running Welford statistics of x, merged chunk by chunk with Chan
// et al.'s formula: a shift K (the first chunk's mean, so the running mean stays small and
// keeps its low bits), the mean of x - K and M2, the sum of squared deviations. Each chunk's
// own M2 is computed two-pass from registers, so no sum of squares ever cancels. After the loop
//   sum(x)           = n * (K + mean)
//   sum((x - c)**2)  = M2 + n * ((K - c) + mean)**2     (exact for any c constant along s1)
// `chunk=0` keeps everything in registers.

// Mean and variance of each row (layer_norm's statistics): one loop, three accumulators.
builtin.module {
  tile.kernel @mean_var(%x: !tile.tensor<[s0, s1], f32>, %mean: !tile.tensor<[s0], f32>, %var: !tile.tensor<[s0], f32>) {
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
      %v = tile.binary "div" %vs, %n : !tile.block<[block_0], f32>, !tile.block<[], i64> -> !tile.block<[block_0], f32>
      tile.store %mu, %mean[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
      tile.store %v, %var[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @mean_var(
// CHECK:      tile.for %t = %c0 to %m block block_0 kind tile parallel {
// CHECK-NEXT:   %[[LB:.*]] = tile.constant 0 : i64
// CHECK-NEXT:   %[[UB:.*]] = tile.size "s1"
// CHECK-NEXT:   %[[Z0:.*]] = tile.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[K0:.*]] = tile.full %[[Z0]] shape ["block_0"] dtype f32
// CHECK-NEXT:   %[[Z1:.*]] = tile.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[MEAN0:.*]] = tile.full %[[Z1]] shape ["block_0"] dtype f32
// CHECK-NEXT:   %[[Z2:.*]] = tile.constant 0.000000e+00 : f32
// CHECK-NEXT:   %[[M20:.*]] = tile.full %[[Z2]] shape ["block_0"] dtype f32
// CHECK-NEXT:   %[[K:.*]], %[[MEAN:.*]], %[[M2:.*]] = tile.for %chunk = %[[LB]] to %[[UB]] block rblock_s1 kind tile iter_args(%[[KA:.*]] = %[[K0]], %[[MA:.*]] = %[[MEAN0]], %[[M2A:.*]] = %[[M20]]) -> (!tile.block<[block_0], f32>, !tile.block<[block_0], f32>, !tile.block<[block_0], f32>) attributes {block_size = 64 : i64} {
// CHECK-NEXT:     %xt = tile.load %x[%t, %chunk] ["tile", "tile"]
//                 Counts: n_ab elements up to the chunk's end, n_b in it, n_a before it.
// CHECK-NEXT:     %[[BEGIN:.*]] = tile.tile_attr "begin" %chunk
// CHECK-NEXT:     %[[END:.*]] = tile.tile_attr "end" %chunk
// CHECK-NEXT:     %[[NAB:.*]] = tile.cast %[[END]] to f32
// CHECK-NEXT:     %[[LEN:.*]] = tile.binary "sub" %[[END]], %[[BEGIN]]
// CHECK-NEXT:     %[[NB:.*]] = tile.cast %[[LEN]] to f32
// CHECK-NEXT:     %[[NA:.*]] = tile.binary "sub" %[[NAB]], %[[NB]]
// CHECK-NEXT:     %[[FIRST:.*]] = tile.binary "eq" %[[BEGIN]], %[[LB]]
//                 The chunk's mean and M2, of x - K.
// CHECK-NEXT:     %[[KB:.*]] = tile.reshape %[[KA]] to ["block_0", "1"]
// CHECK-NEXT:     %[[Y:.*]] = tile.binary "sub" %xt, %[[KB]] : !tile.block<[block_0, rblock_s1], f32>, !tile.block<[block_0, 1], f32>
// CHECK-NEXT:     %[[SY:.*]] = tile.reduce "sum" %[[Y]] dim 1
// CHECK-NEXT:     %[[MU:.*]] = tile.binary "div" %[[SY]], %[[NB]]
// CHECK-NEXT:     %[[MUB:.*]] = tile.reshape %[[MU]] to ["block_0", "1"]
// CHECK-NEXT:     %[[E:.*]] = tile.binary "sub" %[[Y]], %[[MUB]]
// CHECK-NEXT:     %[[E2:.*]] = tile.binary "mul" %[[E]], %[[E]]
// CHECK-NEXT:     %[[M2B:.*]] = tile.reduce "sum" %[[E2]] dim 1
//                 Chan's merge: mean += delta * n_b / n_ab; M2 += M2_b + delta^2 * n_a * n_b / n_ab.
// CHECK-NEXT:     %[[DELTA:.*]] = tile.binary "sub" %[[MU]], %[[MA]]
// CHECK-NEXT:     %[[FRAC:.*]] = tile.binary "div" %[[NB]], %[[NAB]]
// CHECK-NEXT:     %[[STEP:.*]] = tile.binary "mul" %[[DELTA]], %[[FRAC]]
// CHECK-NEXT:     %[[MN:.*]] = tile.binary "add" %[[MA]], %[[STEP]]
// CHECK-NEXT:     %[[NANB:.*]] = tile.binary "mul" %[[NA]], %[[NB]]
// CHECK-NEXT:     %[[W:.*]] = tile.binary "div" %[[NANB]], %[[NAB]]
// CHECK-NEXT:     %[[M2S:.*]] = tile.binary "add" %[[M2A]], %[[M2B]]
// CHECK-NEXT:     %[[D2:.*]] = tile.binary "mul" %[[DELTA]], %[[DELTA]]
// CHECK-NEXT:     %[[D2W:.*]] = tile.binary "mul" %[[D2]], %[[W]]
// CHECK-NEXT:     %[[M2N:.*]] = tile.binary "add" %[[M2S]], %[[D2W]]
//                 After the first chunk its mean is the shift, and the running mean restarts at 0.
// CHECK-NEXT:     %[[ZERO:.*]] = tile.constant 0.000000e+00 : f32
// CHECK-NEXT:     %[[KN:.*]] = tile.select %[[FIRST]], %[[MN]], %[[KA]]
// CHECK-NEXT:     %[[MNN:.*]] = tile.select %[[FIRST]], %[[ZERO]], %[[MN]]
// CHECK-NEXT:     tile.yield %[[KN]], %[[MNN]], %[[M2N]]
// CHECK-NEXT:   }
//               sum(x) = n * (K + mean)
// CHECK-NEXT:   %[[N:.*]] = tile.cast %[[UB]] to f32
// CHECK-NEXT:   %[[KM:.*]] = tile.binary "add" %[[K]], %[[MEAN]]
// CHECK-NEXT:   %[[S:.*]] = tile.binary "mul" %[[KM]], %[[N]]
// CHECK-NEXT:   %n = tile.size "s1"
// CHECK-NEXT:   %mu = tile.binary "div" %[[S]], %n
// CHECK-NEXT:   %mu2 = tile.reshape %mu to ["block_0", "1"]
//               sum((x - c)**2) = M2 + n * ((K - c) + mean)**2
// CHECK-NEXT:   %[[N2:.*]] = tile.cast %[[UB]] to f32
// CHECK-NEXT:   %[[C:.*]] = tile.reshape %mu2 to ["block_0"]
// CHECK-NEXT:   %[[KC:.*]] = tile.binary "sub" %[[K]], %[[C]]
// CHECK-NEXT:   %[[DM:.*]] = tile.binary "add" %[[KC]], %[[MEAN]]
// CHECK-NEXT:   %[[DM2:.*]] = tile.binary "mul" %[[DM]], %[[DM]]
// CHECK-NEXT:   %[[CORR:.*]] = tile.binary "mul" %[[DM2]], %[[N2]]
// CHECK-NEXT:   %[[VS:.*]] = tile.binary "add" %[[M2]], %[[CORR]]
// CHECK-NEXT:   %v = tile.binary "div" %[[VS]], %n
// CHECK-NEXT:   tile.store %mu, %mean[%t] ["tile"]
// CHECK-NEXT:   tile.store %v, %var[%t] ["tile"]
// CHECK-NOT:  s1]
// KEEP-LABEL: tile.kernel @mean_var(
// KEEP-NOT:   rblock_s1
// KEEP:       %vs = tile.reduce "sum" %c2 dim 1 : i64 : !tile.block<[block_0, s1], f32>

// -----
// Half precision, keepdim, `c - x` and `** 2`: the statistics are f32 (x is cast in the
// loop), the results are reshaped to the kept dim and cast back to bf16.
builtin.module {
  tile.kernel @var_keepdim_bf16(%x: !tile.tensor<[s0, s1], bf16>, %out: !tile.tensor<[s0, 1], bf16>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %m block block_0 kind tile parallel {
      %v = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], bf16>, !tile.tile<block_0> -> !tile.block<[block_0, s1], bf16>
      %s = tile.reduce "sum" %v dim 1 : i64 keepdim : !tile.block<[block_0, s1], bf16> -> !tile.block<[block_0, 1], bf16>
      %n = tile.size "s1" : !tile.block<[], i64>
      %mu = tile.binary "div" %s, %n : !tile.block<[block_0, 1], bf16>, !tile.block<[], i64> -> !tile.block<[block_0, 1], bf16>
      %d = tile.binary "sub" %mu, %v : !tile.block<[block_0, 1], bf16>, !tile.block<[block_0, s1], bf16> -> !tile.block<[block_0, s1], bf16>
      %two = tile.constant 2 : i64 : !tile.block<[], i64>
      %q = tile.binary "pow" %d, %two : !tile.block<[block_0, s1], bf16>, !tile.block<[], i64> -> !tile.block<[block_0, s1], bf16>
      %vs = tile.reduce "sum" %q dim 1 : i64 keepdim : !tile.block<[block_0, s1], bf16> -> !tile.block<[block_0, 1], bf16>
      %var = tile.binary "div" %vs, %n : !tile.block<[block_0, 1], bf16>, !tile.block<[], i64> -> !tile.block<[block_0, 1], bf16>
      tile.store %var, %out[%t] ["tile", "full"] : !tile.block<[block_0, 1], bf16>, !tile.tensor<[s0, 1], bf16>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @var_keepdim_bf16(
// CHECK:      %[[K:.*]], %[[MEAN:.*]], %[[M2:.*]] = tile.for %chunk = {{.*}} -> (!tile.block<[block_0], f32>, !tile.block<[block_0], f32>, !tile.block<[block_0], f32>)
// CHECK-NEXT:   %v = tile.load %x[%t, %chunk]
// CHECK-NEXT:   %[[XF:.*]] = tile.cast %v to f32 : !tile.block<[block_0, rblock_s1], bf16> -> !tile.block<[block_0, rblock_s1], f32>
// CHECK:        tile.binary "sub" %[[XF]], %{{.*}} : !tile.block<[block_0, rblock_s1], f32>
// CHECK:        tile.yield
// CHECK-NEXT: }
// CHECK:      %[[S:.*]] = tile.binary "mul"
// CHECK-NEXT: %[[SK:.*]] = tile.reshape %[[S]] to ["block_0", "1"]
// CHECK-NEXT: %s = tile.cast %[[SK]] to bf16
// CHECK:      %[[VS:.*]] = tile.binary "add" %[[M2]], %{{.*}} : !tile.block<[block_0], f32>
// CHECK-NEXT: %[[VK:.*]] = tile.reshape %[[VS]] to ["block_0", "1"]
// CHECK-NEXT: %vs = tile.cast %[[VK]] to bf16
// CHECK-NEXT: %var = tile.binary "div" %vs, %n

// -----
// A row that is not tiled (no parallel dim in x): the statistics are scalars, no reshapes.
builtin.module {
  tile.kernel @row_stats(%w: !tile.tensor<[s1], f32>, %out: !tile.tensor<[s0], f32>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %m block block_0 kind tile parallel {
      %v = tile.load %w[] ["full"] : !tile.tensor<[s1], f32>, -> !tile.block<[s1], f32>
      %s = tile.reduce "sum" %v dim 0 : i64 : !tile.block<[s1], f32> -> !tile.block<[], f32>
      %n = tile.size "s1" : !tile.block<[], i64>
      %mu = tile.binary "div" %s, %n : !tile.block<[], f32>, !tile.block<[], i64> -> !tile.block<[], f32>
      %d = tile.binary "sub" %v, %mu : !tile.block<[s1], f32>, !tile.block<[], f32> -> !tile.block<[s1], f32>
      %q = tile.binary "mul" %d, %d : !tile.block<[s1], f32>, !tile.block<[s1], f32> -> !tile.block<[s1], f32>
      %vs = tile.reduce "sum" %q dim 0 : i64 : !tile.block<[s1], f32> -> !tile.block<[], f32>
      %f = tile.full %vs shape ["block_0"] dtype f32 : !tile.block<[], f32> -> !tile.block<[block_0], f32>
      tile.store %f, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @row_stats(
// CHECK:      %[[K:.*]], %[[MEAN:.*]], %[[M2:.*]] = tile.for %chunk = {{.*}} -> (!tile.block<[], f32>, !tile.block<[], f32>, !tile.block<[], f32>)
// CHECK-NOT:    tile.reshape
// CHECK:        tile.yield
// CHECK-NEXT: }
// CHECK-NOT:  tile.reshape
// CHECK:      %vs = tile.binary "add" %[[M2]]
// CHECK-NEXT: %f = tile.full %vs shape ["block_0"]

// -----
// Not Welford. A center known before the loop (an argument): the centered squares are a plain
// sum in the same loop. A center that broadcasts x to more dims: the two-pass loops stay.
builtin.module {
  tile.kernel @known_center(%x: !tile.tensor<[s0, s1], f32>, %c: !tile.block<[], f32>, %out: !tile.tensor<[s0], f32>, %out2: !tile.tensor<[s0], f32>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %m block block_0 kind tile parallel {
      %xt = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %s = tile.reduce "sum" %xt dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      %d = tile.binary "sub" %xt, %c : !tile.block<[block_0, s1], f32>, !tile.block<[], f32> -> !tile.block<[block_0, s1], f32>
      %q = tile.binary "mul" %d, %d : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %vs = tile.reduce "sum" %q dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      tile.store %s, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
      tile.store %vs, %out2[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
  tile.kernel @broadcast_x(%w: !tile.tensor<[s1], f32>, %x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %m block block_0 kind tile parallel {
      %xt = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<[block_0, s1], f32>
      %s = tile.reduce "sum" %xt dim 1 keepdim : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, 1], f32>
      %v = tile.load %w[] ["full"] : !tile.tensor<[s1], f32>, -> !tile.block<[s1], f32>
      %d = tile.binary "sub" %v, %s : !tile.block<[s1], f32>, !tile.block<[block_0, 1], f32> -> !tile.block<[block_0, s1], f32>
      %q = tile.binary "mul" %d, %d : !tile.block<[block_0, s1], f32>, !tile.block<[block_0, s1], f32> -> !tile.block<[block_0, s1], f32>
      %vs = tile.reduce "sum" %q dim 1 : i64 : !tile.block<[block_0, s1], f32> -> !tile.block<[block_0], f32>
      tile.store %vs, %out[%t] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @known_center(
// CHECK:      %[[S:.*]], %[[VS:.*]] = tile.for %chunk = {{.*}} iter_args(%[[SA:.*]] = %{{.*}}, %[[VA:.*]] = %{{.*}}) -> (!tile.block<[block_0], f32>, !tile.block<[block_0], f32>)
// CHECK-NEXT:   %xt = tile.load %x[%t, %chunk]
// CHECK-NEXT:   %[[P:.*]] = tile.reduce "sum" %xt dim 1
// CHECK-NEXT:   %[[SN:.*]] = tile.binary "add" %[[SA]], %[[P]]
// CHECK-NEXT:   %d = tile.binary "sub" %xt, %c
// CHECK-NEXT:   %q = tile.binary "mul" %d, %d
// CHECK-NEXT:   %[[Q:.*]] = tile.reduce "sum" %q dim 1
// CHECK-NEXT:   %[[VN:.*]] = tile.binary "add" %[[VA]], %[[Q]]
// CHECK-NEXT:   tile.yield %[[SN]], %[[VN]]
// CHECK-NEXT: }
// CHECK-NOT:  tile_attr
// CHECK-LABEL: tile.kernel @broadcast_x(
// CHECK:      %{{.*}} = tile.for %{{.*}} -> (!tile.block<[block_0, 1], f32>)
// CHECK:      %[[VS:.*]] = tile.for %{{.*}} -> (!tile.block<[block_0], f32>)
// CHECK-NOT:  tile_attr
// CHECK:      tile.store %[[VS]], %{{.*}}[%{{.*}}]

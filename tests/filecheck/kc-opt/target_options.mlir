// RUN: exit-code 1 kc-opt %s -t "triton{block-sizes=3}" 2>&1 | filecheck %s --check-prefix=NOT-POW2
// RUN: exit-code 1 kc-opt %s -t "triton{block-sizes=-8}" 2>&1 | filecheck %s --check-prefix=NEGATIVE
// RUN: exit-code 1 kc-opt %s -t "triton{block-sizes=0}" 2>&1 | filecheck %s --check-prefix=ZERO
// RUN: exit-code 1 kc-opt %s -t "triton{block-sizes=2097152}" 2>&1 | filecheck %s --check-prefix=HUGE
// RUN: exit-code 1 kc-opt %s -t "triton{block-sizes=abc}" 2>&1 | filecheck %s --check-prefix=NOT-INT
// RUN: exit-code 1 kc-opt %s -t "triton{block-sizes=16,64,8}" 2>&1 | filecheck %s --check-prefix=COUNT
// RUN: exit-code 1 kc-opt %s -p shape-inference -t "triton{block-sizes=2048,1024}" 2>&1 | filecheck %s --check-prefix=NUMEL
// RUN: exit-code 1 kc-opt %s -t "triton{num-warps=3}" 2>&1 | filecheck %s --check-prefix=WARPS
// RUN: exit-code 1 kc-opt %s -t "triton{num-warps=-4}" 2>&1 | filecheck %s --check-prefix=WARPS-NEG
// RUN: exit-code 1 kc-opt %s -t "triton{num-warps=64}" 2>&1 | filecheck %s --check-prefix=WARPS-BIG
// RUN: exit-code 1 kc-opt %s -t "triton{num-warps=1.5}" 2>&1 | filecheck %s --check-prefix=WARPS-FLOAT
// RUN: exit-code 1 kc-opt %s -t "triton{num-warps=8,8}" 2>&1 | filecheck %s --check-prefix=WARPS-LIST
// RUN: exit-code 1 kc-opt %s -t "triton{num-stages=0}" 2>&1 | filecheck %s --check-prefix=STAGES
// RUN: exit-code 1 kc-opt %s -t "triton{block-size=16}" 2>&1 | filecheck %s --check-prefix=UNKNOWN
// RUN: exit-code 1 kc-opt %s -t "triton{interpret=7}" 2>&1 | filecheck %s --check-prefix=BOOL
// RUN: exit-code 1 kc-opt %s -p "split-reductions{chunk=abc}" 2>&1 | filecheck %s --check-prefix=PASS-OPT
// RUN: exit-code 1 kc-opt %s -p "split-reductions{chunks=8}" 2>&1 | filecheck %s --check-prefix=PASS-UNKNOWN
// RUN: exit-code 1 kc-opt %s -p "shape-inferenc" 2>&1 | filecheck %s --check-prefix=NO-PASS
// RUN: kc-opt %s -p shape-inference -t "triton{block-sizes=16,64 num-warps=32 num-stages=3}" | filecheck %s --check-prefix=GOOD
// RUN: kc-opt %s -p shape-inference -t "triton{block-sizes=16}" | filecheck %s --check-prefix=FEWER

// Target options Triton would refuse are kc-opt errors (exit code 1) naming the option and
// what it accepts, before any code is emitted: block sizes are powers of two up to 2**20,
// at most one per block symbol, and no block value may exceed 2**20 elements (that one is
// located at the op holding the value); num-warps is 0 (the default) or a power of two up to
// 32; num-stages is at least 1. Pass options get the same treatment. No traceback, ever.

builtin.module {
  tile.kernel @rowsum(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) attributes {size_hints = {s0 = 24 : i64, s1 = 192 : i64}} {
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
      tile.store %acc, %out[%t] ["tile"] : !tile.block<?>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// NOT-POW2:     kc-opt: error: -t triton: block-sizes value 3 (for block_0): block sizes are powers of two from 1 to 1048576
// NOT-POW2-NOT: Traceback
// NEGATIVE:     kc-opt: error: -t triton: block-sizes value -8 (for block_0): block sizes are powers of two
// ZERO:         kc-opt: error: -t triton: block-sizes value 0 (for block_0): block sizes are powers of two
// HUGE:         kc-opt: error: -t triton: block-sizes value 2097152 (for block_0): block sizes are powers of two from 1 to 1048576
// NOT-INT:      kc-opt: error: -t triton: option 'block-sizes' takes a comma-separated list of integers, got 'abc'
// COUNT:        target_options.mlir:29:3: error: 'tile.kernel' op -t triton: block-sizes has 3 values but the kernel has 2 block symbols (block_0, block_1)
// COUNT-NEXT:     tile.kernel @rowsum(
// COUNT-NEXT:     ^~~~~~~~~~~
// NUMEL:        target_options.mlir:37:9: error: 'tile.load' op -t triton: with block sizes {'block_0': 2048, 'block_1': 1024} this value of shape ['block_0', 'block_1'] has 2,097,152 elements, over Triton's maximum of 1,048,576
// NUMEL-NEXT:           %v = tile.load %x[%t, %c]
// WARPS:        kc-opt: error: -t triton: num-warps=3; allowed: 1, 2, 4, 8, 16, 32 (or 0 for the default)
// WARPS-NEG:    kc-opt: error: -t triton: num-warps=-4; allowed: 1, 2, 4, 8, 16, 32
// WARPS-BIG:    kc-opt: error: -t triton: num-warps=64; allowed: 1, 2, 4, 8, 16, 32
// WARPS-FLOAT:  kc-opt: error: -t triton: option 'num-warps' takes an integer, got '1.5'
// WARPS-LIST:   kc-opt: error: -t triton: option 'num-warps' takes an integer, got '8,8'
// STAGES:       kc-opt: error: -t triton: num-stages=0; it must be at least 1
// UNKNOWN:      kc-opt: error: -t triton: unknown option 'block-size'; did you mean 'block-sizes'? (options: block-sizes, num-warps, num-stages, int64-indexing, interpret, index-checks)
// BOOL:         kc-opt: error: -t triton: option 'interpret' takes true or false, got '7'
// PASS-OPT:     kc-opt: error: pass 'split-reductions': option 'chunk' takes a comma-separated list of integers, got 'abc'
// PASS-UNKNOWN: kc-opt: error: pass 'split-reductions': unknown option 'chunks'; did you mean 'chunk'?
// NO-PASS:      kc-opt: error: -p: unknown pass 'shape-inferenc'; did you mean 'shape-inference'?

// GOOD:         BLOCK_0=16, BLOCK_1=64, num_warps=32, num_stages=3
// FEWER:        BLOCK_0=16, BLOCK_1=

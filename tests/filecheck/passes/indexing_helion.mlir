// RUN: kc-opt %s -p 'shape-inference,indexing{modes=pointer,pointer,tensor_descriptor,tensor_descriptor,pointer,pointer split=s1},split-reductions{dim=s1 chunk=64}' | filecheck %s --check-prefix=CHUNKED
// RUN: kc-opt %s -p 'shape-inference,indexing{modes=pointer,pointer,tensor_descriptor,tensor_descriptor,pointer,pointer}' | filecheck %s --check-prefix=WHOLE
// RUN: kc-opt %s -p 'shape-inference,indexing{modes=tensor_descriptor,pointer,pointer,pointer,block_ptr,tensor_descriptor split=s1},split-reductions{dim=s1 chunk=64}' | filecheck %s --check-prefix=TAIL
// RUN: exit-code 1 kc-opt %s -p 'shape-inference,indexing{modes=pointer,pointer,tensor_descriptor,tensor_descriptor,pointer}' 2>&1 | filecheck %s --check-prefix=BAD

// A Config.indexing list tuned for Helion (acfs/softmax_acf.py) on softmax: Helion numbers the
// load and store of the kernel, then the four accesses of its rolled form (a max pass, a sum
// pass, a normalize pass that stores), and its generated kernel reads entry i for its i-th
// access. `split` names the dims split-reductions chunks: the chunked form's copies take the
// entries of their Helion copies (the online max/sum loop stands for Helion's first two
// passes: entries 0 and 1; the store loop for the third: entries 2 and 3), the whole form
// its first two entries.

builtin.module {
  tile.kernel @softmax_kernel(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0, s1], f32>) attributes {size_hints = {s0 = 8 : i64, s1 = 100 : i64}} {
    %n = tile.size "s0" {loc = "softmax.py:15"} : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 {loc = "softmax.py:15"} : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel attributes {loc = "softmax.py:15"} {
      %v = tile.load %x[%t] ["tile", "full"] {loc = "softmax.py:16"} : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<?>
      %max = tile.reduce "max" %v dim 1 : i64 keepdim {loc = "softmax.py:16"} : !tile.block<?> -> !tile.block<?>
      %shifted = tile.binary "sub" %v, %max {loc = "softmax.py:16"} : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      %e = tile.unary "exp" %shifted {loc = "softmax.py:16"} : !tile.block<?> -> !tile.block<?>
      %sum = tile.reduce "sum" %e dim 1 : i64 keepdim {loc = "softmax.py:16"} : !tile.block<?> -> !tile.block<?>
      %p = tile.binary "div" %e, %sum {loc = "softmax.py:16"} : !tile.block<?>, !tile.block<?> -> !tile.block<?>
      tile.store %p, %out[%t] ["tile", "full"] {loc = "softmax.py:17"} : !tile.block<?>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>
    }
  }
}

// CHUNKED:      tile.for %chunk = {{.*}} block rblock_s1 kind tile iter_args
// CHUNKED-NEXT:   %v = tile.load %x[%t, %chunk] ["tile", "tile"] {loc = "softmax.py:16"} :
// CHUNKED:        tile.yield
// CHUNKED:      tile.for %chunk_1 = {{.*}} block rblock_s1 kind tile
// CHUNKED-NEXT:   %v_1 = tile.load %x[%t, %chunk_1] ["tile", "tile"] {loc = "softmax.py:16", indexing = "tensor_descriptor"} :
// CHUNKED:        tile.store %{{.*}}, %out[%t, %chunk_1] ["tile", "tile"] {loc = "softmax.py:17", indexing = "tensor_descriptor"} :
// CHUNKED-NOT:  indexing_chunks

// WHOLE:        %v = tile.load %x[%t] ["tile", "full"] {loc = "softmax.py:16"} :
// WHOLE:        tile.store %p, %out[%t] ["tile", "full"] {loc = "softmax.py:17"} :
// WHOLE-NOT:    indexing

// The list's tail (entries 4 and 5) is read by no access of the generated kernel. Entries 0
// and 1 differ and fall on one load (the online loop's): it takes entry 0 and a warning says
// so; entries 2 and 3 (pointers) go to the store loop.
// TAIL:         tile.for %chunk = {{.*}} block rblock_s1 kind tile iter_args
// TAIL-NEXT:      %v = tile.load %x[%t, %chunk] ["tile", "tile"] {loc = "softmax.py:16", indexing = "tensor_descriptor"} :
// TAIL:         tile.for %chunk_1 = {{.*}} block rblock_s1 kind tile
// TAIL-NEXT:      %v_1 = tile.load %x[%t, %chunk_1] ["tile", "tile"] {loc = "softmax.py:16"} :
// TAIL:           tile.store %{{.*}}, %out[%t, %chunk_1] ["tile", "tile"] {loc = "softmax.py:17"} :

// BAD: indexing has 5 entries but kernel @softmax_kernel has 2 loads/stores (load x (softmax.py:16), store out (softmax.py:17)); Helion's numbering, which adds the loads/stores of its rolled reduction loops, has 6: give one mode per load/store in source order, one mode for all, or a list tuned for Helion for this kernel

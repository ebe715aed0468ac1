// RUN: kc-opt %s --split-input-file -p 'shape-inference,indexing{modes=tensor_descriptor},split-reductions{chunk=64},persistent{pid_type=persistent_blocked}' | filecheck %s
// RUN: kc-opt %s --split-input-file -p 'shape-inference,indexing{modes=pointer,block_ptr}' | filecheck %s --check-prefix=LIST
// RUN: exit-code 1 kc-opt %s --split-input-file -p 'shape-inference,indexing{modes=blocked}' 2>&1 | filecheck %s --check-prefix=BAD

// A pipeline is data: the pass manager's resolved pipeline text (what compile.py runs for a
// config, and what KCOMPILER_DUMP_IR writes next to the IR) replays in kc-opt. Here the
// config {indexing: tensor_descriptor, reduction_loops: [64], pid_type: persistent_blocked}
// on untyped IR: shape-inference types it, `indexing` stamps each load/store with its mode
// (gathers stay pointers: no attribute), split-reductions carries the stamps onto the loads
// and stores it re-issues, persistent marks the grid loop.

builtin.module {
  tile.kernel @row_sum(%x: !tile.tensor<[s0, s1], f32>, %out: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<?>
    %c0 = tile.constant 0 : i64 : !tile.block<?>
    tile.for %t = %c0 to %n : !tile.block<?>, !tile.block<?> block block_0 kind tile parallel {
      %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0> -> !tile.block<?>
      %sum = tile.reduce "sum" %a dim 1 : i64 : !tile.block<?> -> !tile.block<?>
      tile.store %sum, %out[%t] ["tile"] : !tile.block<?>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @row_sum(
// CHECK:       tile.for %t = %c0 to %n block block_0 kind tile parallel attributes {pid_type = "persistent_blocked", num_sm_multiplier = 1 : i64} {
// CHECK:         tile.for %chunk = {{.*}} block rblock_s1 kind tile iter_args
// CHECK-NEXT:      %a = tile.load %x[%t, %chunk] ["tile", "tile"] {indexing = "tensor_descriptor"} : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<rblock_s1> -> !tile.block<[block_0, rblock_s1], f32>
// CHECK:         tile.store {{.*}}, %out[%t] ["tile"] {indexing = "tensor_descriptor"} : !tile.block<[block_0], f32>

// LIST-LABEL: tile.kernel @row_sum(
// LIST:       %a = tile.load %x[%t] ["tile", "full"] : !tile.tensor<[s0, s1], f32>
// LIST:       tile.store %sum, %out[%t] ["tile"] {indexing = "block_ptr"}

// BAD: indexing[0] = 'blocked': expected one of pointer, block_ptr, tensor_descriptor

// -----
// An embedding lookup: the gather load is pointer-only whatever the config asks; the store
// (tile, full) takes the mode.
builtin.module {
  tile.kernel @embedding(%ids: !tile.tensor<[s0], i64>, %table: !tile.tensor<[s1, s2], f32>, %out: !tile.tensor<[s0, s2], f32>) {
    %n = tile.size "s0" : !tile.block<?>
    %c0 = tile.constant 0 : i64 : !tile.block<?>
    tile.for %t = %c0 to %n : !tile.block<?>, !tile.block<?> block block_0 kind tile parallel {
      %i = tile.load %ids[%t] ["tile"] : !tile.tensor<[s0], i64>, !tile.tile<block_0> -> !tile.block<?>
      %rows = tile.load %table[%i] ["gather", "full"] : !tile.tensor<[s1, s2], f32>, !tile.block<?> -> !tile.block<?>
      tile.store %rows, %out[%t] ["tile", "full"] : !tile.block<?>, !tile.tensor<[s0, s2], f32>, !tile.tile<block_0>
    }
  }
}

// CHECK-LABEL: tile.kernel @embedding(
// CHECK:       %i = tile.load %ids[%t] ["tile"] {indexing = "tensor_descriptor"}
// CHECK:       %rows = tile.load %table[%i] ["gather", "full"] : !tile.tensor<[s1, s2], f32>
// CHECK:       tile.store %rows, %out[%t] ["tile", "full"] {indexing = "tensor_descriptor"}

// LIST-LABEL: tile.kernel @embedding(
// LIST-NOT:   indexing
// LIST:       %rows = tile.load %table[%i] ["gather", "full"] : !tile.tensor<[s1, s2], f32>
// LIST-NOT:   indexing

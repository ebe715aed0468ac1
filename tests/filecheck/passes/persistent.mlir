// RUN: kc-opt %s --split-input-file -p 'persistent{pid_type=persistent_blocked}' | filecheck %s --check-prefix=BLOCKED
// RUN: kc-opt %s --split-input-file -p 'persistent{pid_type=persistent_interleaved num_sm_multiplier=2}' | filecheck %s --check-prefix=INTERLEAVED
// RUN: kc-opt %s --split-input-file -p 'persistent{pid_type=persistent_blocked},persistent{pid_type=flat}' | filecheck %s --check-prefix=FLAT
// RUN: exit-code 1 kc-opt %s --split-input-file -p 'persistent{pid_type=diagonal}'

// persistent records the launch schedule on the outermost parallel tile.for of each kernel
// (the loop nest itself is unchanged); the Triton backend turns it into a fixed number of
// programs looping over tiles. `flat` (one program per tile) removes the attributes.

builtin.module {
  tile.kernel @add2d(%x: !tile.tensor<[s0, s1], f32>, %y: !tile.tensor<[s0, s1], f32>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %n = tile.size "s1" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %i = %c0 to %m block block_0 kind tile parallel {
      tile.for %j = %c0 to %n block block_1 kind tile parallel {
        %a = tile.load %x[%i, %j] ["tile", "tile"] : !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<block_1> -> !tile.block<[block_0, block_1], f32>
        tile.store %a, %y[%i, %j] ["tile", "tile"] : !tile.block<[block_0, block_1], f32>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<block_1>
      }
    }
  }
}

// BLOCKED-LABEL: tile.kernel @add2d(
// BLOCKED:       tile.for %i = %c0 to %m block block_0 kind tile parallel attributes {pid_type = "persistent_blocked", num_sm_multiplier = 1 : i64} {
// BLOCKED-NEXT:    tile.for %j = %c0 to %n block block_1 kind tile parallel {

// INTERLEAVED-LABEL: tile.kernel @add2d(
// INTERLEAVED:       tile.for %i = %c0 to %m block block_0 kind tile parallel attributes {pid_type = "persistent_interleaved", num_sm_multiplier = 2 : i64} {
// INTERLEAVED-NEXT:    tile.for %j = %c0 to %n block block_1 kind tile parallel {

// FLAT-LABEL: tile.kernel @add2d(
// FLAT:       tile.for %i = %c0 to %m block block_0 kind tile parallel {
// FLAT-NOT:   pid_type

// -----
// A sequential loop and a kernel without parallel loops are left alone.
builtin.module {
  tile.kernel @no_grid(%x: !tile.tensor<[s0], f32>, %y: !tile.tensor<[s0], f32>) {
    %m = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %i = %c0 to %m block block_0 kind tile {
      %a = tile.load %x[%i] ["tile"] : !tile.tensor<[s0], f32>, !tile.tile<block_0> -> !tile.block<[block_0], f32>
      tile.store %a, %y[%i] ["tile"] : !tile.block<[block_0], f32>, !tile.tensor<[s0], f32>, !tile.tile<block_0>
    }
  }
}

// BLOCKED-LABEL: tile.kernel @no_grid(
// BLOCKED-NOT:   pid_type
// INTERLEAVED-LABEL: tile.kernel @no_grid(
// INTERLEAVED-NOT:   pid_type

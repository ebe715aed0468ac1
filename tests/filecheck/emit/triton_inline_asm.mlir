// RUN: kc-opt %s --split-input-file | filecheck %s --check-prefix=IR
// RUN: kc-opt %s --split-input-file --print-op-generic | kc-opt --split-input-file | filecheck %s --check-prefix=IR
// RUN: kc-opt %s --split-input-file -p shape-inference -t triton | filecheck %s
// RUN: exit-code 1 kc-opt %s --split-input-file -p shape-inference -t "triton{interpret=true}" 2>&1 | filecheck %s --check-prefix=INTERP

// tile.inline_asm maps assembly over the elements of its args, broadcast to one shape (here
// a [block_0, 1] byte column and a [block_1] byte row give a [block_0, block_1] result of the
// op's `to` type). It prints, parses back (custom and generic forms), takes its result type
// from shape-inference, and lowers to tl.inline_asm_elementwise with every arg broadcast to
// the result's shape and a literal arg as a tl.full block of its own type. Triton's CPU
// interpreter cannot run assembly: there the emitter stops at the op's source line.

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], i8>, %y: !tile.tensor<[s1], i8>, %out: !tile.tensor<[s0, s1], f32>) attributes {size_hints = {s0 = 100 : i64, s1 = 60 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %m = tile.size "s1" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      tile.for %u = %c0 to %m block block_1 kind tile parallel {
        %a = tile.load %x[%t] ["tile"] : !tile.tensor<[s0], i8>, !tile.tile<block_0> -> !tile.block<[block_0], i8>
        %a2 = tile.reshape %a to ["block_0", "1"] : !tile.block<[block_0], i8> -> !tile.block<[block_0, 1], i8>
        %b = tile.load %y[%u] ["tile"] : !tile.tensor<[s1], i8>, !tile.tile<block_1> -> !tile.block<[block_1], i8>
        %c = tile.constant 3 : i32 : !tile.block<[], i32>
        %r = tile.inline_asm "{ .reg .b32 t; add.s32 t, $1, $2; add.s32 t, t, $3; cvt.rn.f32.s32 $0, t; }" "=f,r,r,r" pack 1 : i64 pure to f32 (%a2, %b, %c) {loc = "k.py:7"} : !tile.block<[block_0, 1], i8>, !tile.block<[block_1], i8>, !tile.block<[], i32> -> !tile.block<?>
        tile.store %r, %out[%t, %u] ["tile", "tile"] : !tile.block<?>, !tile.tensor<[s0, s1], f32>, !tile.tile<block_0>, !tile.tile<block_1>
      }
    }
  }
}

// IR:      tile.inline_asm "{ .reg .b32 t; add.s32 t, $1, $2; add.s32 t, t, $3; cvt.rn.f32.s32 $0, t; }" "=f,r,r,r" pack 1 : i64 pure to f32 (%{{.*}}, %{{.*}}, %{{.*}}) {loc = "k.py:7"} : !tile.block<[block_0, 1], i8>, !tile.block<[block_1], i8>, !tile.block<[], i32> -> !tile.block<?>

// CHECK:      [[R:v[0-9]+]] = tl.inline_asm_elementwise('{ .reg .b32 t; add.s32 t, $1, $2; add.s32 t, t, $3; cvt.rn.f32.s32 $0, t; }', '=f,r,r,r', [tl.broadcast_to([[A:v[0-9]+]], (BLOCK_0, BLOCK_1)), tl.broadcast_to([[B:v[0-9]+]][None, :], (BLOCK_0, BLOCK_1)), tl.full((BLOCK_0, BLOCK_1), 3, tl.int32)], dtype=tl.float32, is_pure=True, pack=1)
// CHECK:      tl.store({{.*}}[[R]]

// INTERP-NOT: Traceback
// INTERP:     k.py:7: kl.inline_asm_elementwise runs target assembly (inline PTX), which Triton's CPU interpreter (TRITON_INTERPRET=1) cannot execute: this kernel needs a GPU

// -----
// Not pure, several lines of asm (printed with escapes, parsed back), a scalar arg: the
// result is a scalar and the call says is_pure=False.

builtin.module {
  tile.kernel @s(%x: !tile.tensor<[s0], i32>, %out: !tile.tensor<[s0], i32>) attributes {size_hints = {s0 = 100 : i64}} {
    %n = tile.size "s0" : !tile.block<[], i64>
    %c0 = tile.constant 0 : i64 : !tile.block<[], i64>
    tile.for %t = %c0 to %n block block_0 kind tile parallel {
      %begin = tile.tile_attr "begin" %t : !tile.tile<block_0> -> !tile.block<[], i64>
      %v = tile.load %x[%begin] ["scalar"] : !tile.tensor<[s0], i32>, !tile.block<[], i64> -> !tile.block<[], i32>
      %r = tile.inline_asm "mov.b32 $0, $1;\n" "=r,r" pack 1 : i64 to i32 (%v) : !tile.block<[], i32> -> !tile.block<[], i32>
      tile.store %r, %out[%begin] ["scalar"] : !tile.block<[], i32>, !tile.tensor<[s0], i32>, !tile.block<[], i64>
    }
  }
}

// IR:      tile.inline_asm "mov.b32 $0, $1;\0A" "=r,r" pack 1 : i64 to i32 (%{{.*}}) : !tile.block<[], i32> -> !tile.block<[], i32>

// CHECK:      tl.inline_asm_elementwise('mov.b32 $0, $1;\n', '=r,r', [v{{[0-9]+}}], dtype=tl.int32, is_pure=False, pack=1)

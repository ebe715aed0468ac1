// RUN: kc-opt %s --split-input-file --verify-diagnostics | filecheck %s

// tile.inline_asm's verifier: with pack 1 the constraints name one output and one input per
// arg; pack is at least 1; at least one arg gives the result its shape; the `to` type is an
// element type; args that do not broadcast are a shape error.

builtin.module {
  tile.kernel @k(%a: !tile.block<[s0], i32>) {
    %r = tile.inline_asm "mov.b32 $0, $1;" "=r,=r,r" pack 1 : i64 to i32 (%a) : !tile.block<[s0], i32> -> !tile.block<?>
  }
}

// CHECK: inline_asm_errors.mlir:9:5: error: tile.inline_asm: constraints '=r,=r,r' name 2 outputs (`=...`); the op has one result

// -----
builtin.module {
  tile.kernel @k(%a: !tile.block<[s0], i32>) {
    %r = tile.inline_asm "mov.b32 $0, $1;" "=r,r,r,~{memory}" pack 1 : i64 to i32 (%a) : !tile.block<[s0], i32> -> !tile.block<?>
  }
}

// CHECK: inline_asm_errors.mlir:18:5: error: tile.inline_asm: constraints '=r,r,r,~{memory}' name 2 inputs but the op has 1 args

// -----
builtin.module {
  tile.kernel @k(%a: !tile.block<[s0], i32>) {
    %r = tile.inline_asm "mov.b32 $0, $1;" "=r,r" pack 0 : i64 to i32 (%a) : !tile.block<[s0], i32> -> !tile.block<?>
  }
}

// CHECK: inline_asm_errors.mlir:27:5: error: tile.inline_asm: pack must be at least 1, got 0

// -----
builtin.module {
  tile.kernel @k() {
    %r = tile.inline_asm "mov.b32 $0, 1;" "=r" pack 1 : i64 to i32 () : -> !tile.block<?>
  }
}

// CHECK: inline_asm_errors.mlir:36:5: error: tile.inline_asm needs at least one argument (its result's shape)

// -----
builtin.module {
  tile.kernel @k(%a: !tile.block<[s0], i32>) {
    %r = tile.inline_asm "mov.b32 $0, $1;" "=r,r" pack 1 : i64 to !tile.block<[], i32> (%a) : !tile.block<[s0], i32> -> !tile.block<?>
  }
}

// CHECK: inline_asm_errors.mlir:45:5: error: tile.inline_asm: result element type !tile.block<[], i32> is not a dtype

// -----
builtin.module {
  tile.kernel @k(%a: !tile.block<[s0], i32>, %b: !tile.block<[s1], i32>) {
    %r = tile.inline_asm "add.s32 $0, $1, $2;" "=r,r,r" pack 1 : i64 to i32 (%a, %b) : !tile.block<[s0], i32>, !tile.block<[s1], i32> -> !tile.block<[s0], i32>
  }
}

// CHECK: inline_asm_errors.mlir:54:5: error: 'tile.inline_asm' op shapes [['s0'], ['s1']] do not broadcast: dim s0 vs s1

// -----
// With pack 4 the counts are the target's business (several elements share a register).
builtin.module {
  tile.kernel @k(%a: !tile.block<[s0], i8>) {
    %r = tile.inline_asm "prmt.b32 $0, $4, 0, 0x4140;" "=r,=r,=r,=r,r" pack 4 : i64 pure to i32 (%a) : !tile.block<[s0], i8> -> !tile.block<[s0], i32>
  }
}

// CHECK: tile.inline_asm "prmt.b32 $0, $4, 0, 0x4140;" "=r,=r,=r,=r,r" pack 4 : i64 pure to i32 (%a) : !tile.block<[s0], i8> -> !tile.block<[s0], i32>

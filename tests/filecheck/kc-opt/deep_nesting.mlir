// RUN: exit-code 1 kc-opt %s -t triton 2>&1 | filecheck %s --check-prefix=TRITON
// RUN: kc-opt %s | filecheck %s --check-prefix=IR

// 21 sequential tile.for loops, one inside the other. kc-opt parses, verifies and prints any
// nest up to 4096 ops deep (tests/bad_inputs/test_kc_opt_scale.py checks 2000 and 4097), but
// the Triton kernel it emits is Python, which allows at most 20 nested blocks: -t triton
// reports the loop that goes past that (parallel loops become program ids, not Python
// loops, and do not count).

builtin.module {
  tile.kernel @k(%x: !tile.tensor<[s0], f32>) {
    %n = tile.size "s0" : !tile.block<[], i64>
    tile.for %t0 = %n to %n block block_0 kind tile {
      tile.for %t1 = %n to %n block block_1 kind tile {
        tile.for %t2 = %n to %n block block_2 kind tile {
          tile.for %t3 = %n to %n block block_3 kind tile {
            tile.for %t4 = %n to %n block block_4 kind tile {
              tile.for %t5 = %n to %n block block_5 kind tile {
                tile.for %t6 = %n to %n block block_6 kind tile {
                  tile.for %t7 = %n to %n block block_7 kind tile {
                    tile.for %t8 = %n to %n block block_8 kind tile {
                      tile.for %t9 = %n to %n block block_9 kind tile {
                        tile.for %t10 = %n to %n block block_10 kind tile {
                          tile.for %t11 = %n to %n block block_11 kind tile {
                            tile.for %t12 = %n to %n block block_12 kind tile {
                              tile.for %t13 = %n to %n block block_13 kind tile {
                                tile.for %t14 = %n to %n block block_14 kind tile {
                                  tile.for %t15 = %n to %n block block_15 kind tile {
                                    tile.for %t16 = %n to %n block block_16 kind tile {
                                      tile.for %t17 = %n to %n block block_17 kind tile {
                                        tile.for %t18 = %n to %n block block_18 kind tile {
                                          tile.for %t19 = %n to %n block block_19 kind tile {
                                            tile.for %t20 = %n to %n block block_20 kind tile {
                                            }
                                          }
                                        }
                                      }
                                    }
                                  }
                                }
                              }
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

// TRITON-NOT:  Traceback
// TRITON:      deep_nesting.mlir:33:45: error: -t triton: 21 nested tile.for loops; the emitted Triton kernel is Python, which allows at most 20 nested blocks
// TRITON-NEXT:  {{^ +}}tile.for %t20 = %n to %n block block_20 kind tile {
// TRITON-NOT:  Traceback
// IR:           tile.for %t20 = %n to %n block block_20 kind tile {

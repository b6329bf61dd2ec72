;; The memory half of the `extism:host/env` ABI, as a tiny wasm module of our own.
;;
;; Extism PDK plugins keep their inputs, outputs and host-call arguments in a second memory
;; owned by the host ("handles" are byte addresses in it) and reach it only through these
;; functions. Running them as wasm (instead of host functions) makes each of the PDK's many
;; small load/store calls a cheap wasm-to-wasm call. The host does the per-call work (reset,
;; writing the input, reading the output) directly on this memory; `kernel.rs` holds the same
;; layout on the Rust side. Keep both in step.
;;
;; Layout: a header of six i64 at address 0, then blocks from HEAP (64). A block is an i64
;; length followed by its bytes; its handle is the address of the bytes (8-aligned). Bit 63 of
;; the length marks a freed block. Blocks are never reused within a call and the host zeroes
;; the used heap between calls, so a fresh block is always zero.
(module
  (memory (export "memory") 1)
  ;; BUMP starts at HEAP: the host writes it when it creates the instance (`Kernel::init`),
  ;; so that this memory has no data segment and needs no copy-on-write image.
  ;; header fields
  (global $BUMP i32 (i32.const 0))
  (global $INPUT_OFFSET i32 (i32.const 8))
  (global $INPUT_LENGTH i32 (i32.const 16))
  (global $OUTPUT_OFFSET i32 (i32.const 24))
  (global $OUTPUT_LENGTH i32 (i32.const 32))
  (global $ERROR i32 (i32.const 40))
  (global $HEAP i64 (i64.const 64))
  (global $FREED i64 (i64.const 0x8000000000000000))

  (func $addr (param $h i64) (result i32) (i32.wrap_i64 (local.get $h)))

  (func (export "alloc") (param $n i64) (result i64)
    (local $h i64) (local $end i64) (local $size i64)
    (if (i64.eqz (local.get $n)) (then (return (i64.const 0))))
    (local.set $h (i64.add (i64.load (global.get $BUMP)) (i64.const 8)))
    ;; end = align8(h + n)
    (local.set $end (i64.and (i64.add (i64.add (local.get $h) (local.get $n)) (i64.const 7)) (i64.const -8)))
    (if (i64.gt_u (local.get $end) (i64.const 0xFFFFFFFF)) (then (return (i64.const 0))))
    (local.set $size (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $size))
      (then
        (if (i32.eq
              (memory.grow (i32.wrap_i64 (i64.shr_u (i64.add (i64.sub (local.get $end) (local.get $size)) (i64.const 65535)) (i64.const 16))))
              (i32.const -1))
          (then (return (i64.const 0))))))
    (i64.store (i32.wrap_i64 (i64.sub (local.get $h) (i64.const 8))) (local.get $n))
    (i64.store (global.get $BUMP) (local.get $end))
    (local.get $h))

  ;; A handle is valid if it lies inside the used heap, is 8-aligned and its block fits.
  (func $valid (param $h i64) (result i32)
    (local $len i64)
    (if (i64.lt_u (local.get $h) (i64.add (global.get $HEAP) (i64.const 8))) (then (return (i32.const 0))))
    (if (i64.gt_u (local.get $h) (i64.load (global.get $BUMP))) (then (return (i32.const 0))))
    (if (i32.wrap_i64 (i64.and (local.get $h) (i64.const 7))) (then (return (i32.const 0))))
    (local.set $len (i64.load (call $addr (i64.sub (local.get $h) (i64.const 8)))))
    (if (i64.ne (i64.and (local.get $len) (global.get $FREED)) (i64.const 0)) (then (return (i32.const 0))))
    (i64.le_u (i64.add (local.get $h) (local.get $len)) (i64.load (global.get $BUMP))))

  (func (export "length") (param $h i64) (result i64)
    (if (result i64) (call $valid (local.get $h))
      (then (i64.load (call $addr (i64.sub (local.get $h) (i64.const 8)))))
      (else (i64.const 0))))

  (func (export "length_unsafe") (param $h i64) (result i64)
    (i64.and (i64.load (call $addr (i64.sub (local.get $h) (i64.const 8)))) (i64.const 0x7FFFFFFFFFFFFFFF)))

  ;; Idempotent: PDKs free handles the host already took ownership of.
  (func (export "free") (param $h i64)
    (if (call $valid (local.get $h))
      (then
        (i64.store (call $addr (i64.sub (local.get $h) (i64.const 8)))
          (i64.or (i64.load (call $addr (i64.sub (local.get $h) (i64.const 8)))) (global.get $FREED)))
        (if (i64.eq (local.get $h) (i64.load (global.get $INPUT_OFFSET)))
          (then (i64.store (global.get $INPUT_LENGTH) (i64.const 0)))))))

  (func (export "load_u8") (param $h i64) (result i32) (i32.load8_u (call $addr (local.get $h))))
  (func (export "load_u64") (param $h i64) (result i64) (i64.load (call $addr (local.get $h))))
  (func (export "store_u8") (param $h i64) (param $v i32) (i32.store8 (call $addr (local.get $h)) (local.get $v)))
  (func (export "store_u64") (param $h i64) (param $v i64) (i64.store (call $addr (local.get $h)) (local.get $v)))

  (func (export "input_length") (result i64) (i64.load (global.get $INPUT_LENGTH)))
  (func (export "input_offset") (result i64) (i64.load (global.get $INPUT_OFFSET)))
  (func (export "input_load_u8") (param $off i64) (result i32)
    (if (result i32) (i64.lt_u (local.get $off) (i64.load (global.get $INPUT_LENGTH)))
      (then (i32.load8_u (call $addr (i64.add (i64.load (global.get $INPUT_OFFSET)) (local.get $off)))))
      (else (i32.const 0))))
  (func (export "input_load_u64") (param $off i64) (result i64)
    (if (result i64) (i64.lt_u (local.get $off) (i64.load (global.get $INPUT_LENGTH)))
      (then (i64.load (call $addr (i64.add (i64.load (global.get $INPUT_OFFSET)) (local.get $off)))))
      (else (i64.const 0))))

  (func (export "output_set") (param $off i64) (param $len i64)
    (i64.store (global.get $OUTPUT_OFFSET) (local.get $off))
    (i64.store (global.get $OUTPUT_LENGTH) (local.get $len)))
  (func (export "output_offset") (result i64) (i64.load (global.get $OUTPUT_OFFSET)))
  (func (export "output_length") (result i64) (i64.load (global.get $OUTPUT_LENGTH)))

  (func (export "error_set") (param $h i64) (i64.store (global.get $ERROR) (local.get $h)))
  (func (export "error_get") (result i64) (i64.load (global.get $ERROR)))

  (func (export "memory_bytes") (result i64) (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
)

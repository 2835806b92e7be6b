;; SIMD kernels for float32 series (the common case: sensor data in NPY), and NaN counts for
;; the writers (a missing result is a null in Arrow). Each float32 is
;; promoted to float64 and all arithmetic is float64, with the same operations in the same order
;; as the JavaScript fallback in kernels.ts, so both give the same bits.
;; Lanes: a 4-value step puts x[4j], x[4j+1] in accumulator A and x[4j+2], x[4j+3] in B.
(module
  ;; Shared memory: it can grow without detaching the views JavaScript holds on it.
  (import "env" "memory" (memory 1 65536 shared))

  ;; Sum of n float32 at p (as float64): ((A0 + B0) + (A1 + B1)) then the tail in order.
  (func (export "sum_f32") (param $p i32) (param $n i32) (result f64)
    (local $a v128) (local $b v128) (local $v v128) (local $end i32) (local $s f64)
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        (local.set $a (f64x2.add (local.get $a) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $b (f64x2.add (local.get $b) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $loop)))
    (local.set $a (f64x2.add (local.get $a) (local.get $b)))
    (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $a))))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done2
      (loop $tail
        (br_if $done2 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $s (f64.add (local.get $s) (f64.promote_f32 (f32.load (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $tail)))
    (local.get $s))

  ;; Deviations from m: stores sum(x - m) at out and sum((x - m)^2) at out + 8, same lane order.
  (func (export "deviations_f32") (param $p i32) (param $n i32) (param $m f64) (param $out i32)
    (local $mv v128) (local $v v128) (local $e0 v128) (local $e1 v128)
    (local $d0 v128) (local $d1 v128) (local $q0 v128) (local $q1 v128)
    (local $end i32) (local $d f64) (local $q f64) (local $e f64)
    (local.set $mv (f64x2.splat (local.get $m)))
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        (local.set $e0 (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mv)))
        (local.set $e1 (f64x2.sub (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mv)))
        (local.set $d0 (f64x2.add (local.get $d0) (local.get $e0)))
        (local.set $d1 (f64x2.add (local.get $d1) (local.get $e1)))
        (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $e0) (local.get $e0))))
        (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $e1) (local.get $e1))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $loop)))
    (local.set $d0 (f64x2.add (local.get $d0) (local.get $d1)))
    (local.set $q0 (f64x2.add (local.get $q0) (local.get $q1)))
    (local.set $d (f64.add (f64x2.extract_lane 0 (local.get $d0)) (f64x2.extract_lane 1 (local.get $d0))))
    (local.set $q (f64.add (f64x2.extract_lane 0 (local.get $q0)) (f64x2.extract_lane 1 (local.get $q0))))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done2
      (loop $tail
        (br_if $done2 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $e (f64.sub (f64.promote_f32 (f32.load (local.get $p))) (local.get $m)))
        (local.set $d (f64.add (local.get $d) (local.get $e)))
        (local.set $q (f64.add (local.get $q) (f64.mul (local.get $e) (local.get $e))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $tail)))
    (f64.store (local.get $out) (local.get $d))
    (f64.store offset=8 (local.get $out) (local.get $q)))

  ;; dst[k] = float32(((src[k] - m) - lo) * s + b) for n float32 values.
  (func (export "transform_f32") (param $src i32) (param $dst i32) (param $n i32)
    (param $m f64) (param $lo f64) (param $s f64) (param $b f64)
    (local $mv v128) (local $lov v128) (local $sv v128) (local $bv v128) (local $v v128)
    (local $y0 v128) (local $y1 v128) (local $end i32)
    (local.set $mv (f64x2.splat (local.get $m)))
    (local.set $lov (f64x2.splat (local.get $lo)))
    (local.set $sv (f64x2.splat (local.get $s)))
    (local.set $bv (f64x2.splat (local.get $b)))
    (local.set $end (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $v (v128.load (local.get $src)))
        (local.set $y0 (f64x2.add (f64x2.mul (f64x2.sub (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mv)) (local.get $lov)) (local.get $sv)) (local.get $bv)))
        (local.set $y1 (f64x2.add (f64x2.mul (f64x2.sub (f64x2.sub (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mv)) (local.get $lov)) (local.get $sv)) (local.get $bv)))
        (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (local.get $y0)) (f32x4.demote_f64x2_zero (local.get $y1))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $loop)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done2
      (loop $tail
        (br_if $done2 (i32.ge_u (local.get $src) (local.get $end)))
        (f32.store (local.get $dst) (f32.demote_f64 (f64.add (f64.mul (f64.sub (f64.sub
          (f64.promote_f32 (f32.load (local.get $src))) (local.get $m)) (local.get $lo)) (local.get $s)) (local.get $b))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $tail))))

  ;; Count of NaN among n float64 at p (a NaN is the one value unequal to itself).
  (func (export "count_nan_f64") (param $p i32) (param $n i32) (result i32)
    (local $acc v128) (local $v v128) (local $end i32) (local $c i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3))))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        ;; A NaN lane's mask is all ones (-1): subtracting it counts one.
        (local.set $acc (i64x2.sub (local.get $acc) (f64x2.ne (local.get $v) (local.get $v))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $loop)))
    (local.set $c (i32.wrap_i64 (i64.add (i64x2.extract_lane 0 (local.get $acc)) (i64x2.extract_lane 1 (local.get $acc)))))
    (if (i32.and (local.get $n) (i32.const 1))
      (then (local.set $c (i32.add (local.get $c) (f64.ne (f64.load (local.get $p)) (f64.load (local.get $p)))))))
    (local.get $c))

  ;; Count of NaN among n float32 at p.
  (func (export "count_nan_f32") (param $p i32) (param $n i32) (result i32)
    (local $acc v128) (local $v v128) (local $end i32) (local $c i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $loop
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        (local.set $acc (i32x4.sub (local.get $acc) (f32x4.ne (local.get $v) (local.get $v))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $loop)))
    (local.set $c (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done2
      (loop $tail
        (br_if $done2 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.add (local.get $c) (f32.ne (f32.load (local.get $p)) (f32.load (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $tail)))
    (local.get $c)))

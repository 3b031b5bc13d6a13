//! Deterministic f32 arithmetic: dot products with a fixed reduction order, and exp, sigmoid,
//! tanh and softmax written from +, −, ×, ÷ and bit operations (no libm), so every platform
//! computes the same bits.
//!
//! Rust never contracts `a * b + c` into a fused multiply-add, so each expression below rounds
//! exactly as written on x86-64 and aarch64 alike.

/// Lanes of the dot-product accumulator. Element `k` of a dot product always goes to lane `k % 8`.
const LANES: usize = 8;

/// Dot product with a fixed order: eight lane sums, then `((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7))`.
///
/// The order depends only on the length, never on alignment, thread count or CPU features.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // Lanes 0–3 and 4–7 of every chunk of eight, kept as two 4-wide accumulators so that the
    // compiler keeps each in one vector register and loads the inputs contiguously.
    let (mut lo, mut hi) = ([0.0f32; 4], [0.0f32; 4]);
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let x: &[f32; LANES] = x.try_into().expect("a chunk of eight");
        let y: &[f32; LANES] = y.try_into().expect("a chunk of eight");
        let (xl, xh) = x.split_at(4);
        let (yl, yh) = y.split_at(4);
        lo = add4(lo, mul4(xl.try_into().expect("4"), yl.try_into().expect("4")));
        hi = add4(hi, mul4(xh.try_into().expect("4"), yh.try_into().expect("4")));
    }
    for (k, (x, y)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
        if k < 4 {
            lo[k] += x * y;
        } else {
            hi[k - 4] += x * y;
        }
    }
    let s = add4(lo, hi);
    (s[0] + s[1]) + (s[2] + s[3])
}

#[inline(always)]
fn mul4(a: &[f32; 4], b: &[f32; 4]) -> [f32; 4] {
    [a[0] * b[0], a[1] * b[1], a[2] * b[2], a[3] * b[3]]
}

#[inline(always)]
fn add4(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
}

/// Sum with the same fixed order as [`dot`].
#[inline]
pub fn sum(a: &[f32]) -> f32 {
    let mut l = [0.0f32; LANES];
    let mut c = a.chunks_exact(LANES);
    for x in &mut c {
        for k in 0..LANES {
            l[k] += x[k];
        }
    }
    for (k, x) in c.remainder().iter().enumerate() {
        l[k] += x;
    }
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split so that `k * LN2_HI` is exact for |k| < 2^9 (Cody–Waite reduction).
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;

/// Rounds to the nearest integer (ties away from zero) with a cast, no libm.
#[inline]
fn round_to_i32(t: f32) -> i32 {
    if t >= 0.0 {
        (t + 0.5) as i32
    } else {
        (t - 0.5) as i32
    }
}

/// e^x, relative error below 2e-7 on [-87, 88]; 0 below −87.3, +∞ above 88.7; NaN stays NaN.
#[inline]
pub fn exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x < -87.3 {
        return 0.0;
    }
    if x > 88.7 {
        return f32::INFINITY;
    }
    let k = round_to_i32(x * LOG2E);
    let kf = k as f32;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    // e^r on |r| ≤ 0.35 by its Taylor series to r^7 (Horner form).
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^k by building the exponent bits; k ∈ [-126, 128] here. 2^128 is split to stay finite.
    if k > 127 {
        return p * f32::from_bits(((127 + 127) as u32) << 23) * 2.0;
    }
    p * f32::from_bits(((k + 127) as u32) << 23)
}

/// [`exp`] without branches, the same operations in the same order, so that a loop over it
/// vectorises ([`softmax`]); every input gives [`exp`]'s bits (tested).
#[inline(always)]
fn exp_branchless(x: f32) -> f32 {
    let t = x * LOG2E;
    // Outside [−200, 200] (NaN included) the result is chosen below without k; clamping first
    // lets the conversion skip saturation, which would not vectorise.
    let t = if t < 200.0 { t } else { 200.0 };
    let t = if t > -200.0 { t } else { -200.0 };
    // SAFETY: |t| ≤ 200.5 after rounding, well inside i32.
    let k = unsafe { (t + if t >= 0.0 { 0.5 } else { -0.5 }).to_int_unchecked::<i32>() };
    let kf = k as f32;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let big = p * f32::from_bits(((127 + 127) as u32) << 23) * 2.0;
    let normal = p * f32::from_bits(((k.wrapping_add(127)) as u32) << 23);
    let v = if k > 127 { big } else { normal };
    let v = if x > 88.7 { f32::INFINITY } else { v };
    let v = if x < -87.3 { 0.0 } else { v };
    if x.is_nan() {
        x
    } else {
        v
    }
}

/// Logistic sigmoid 1 / (1 + e^(−x)).
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Hyperbolic tangent, from e^(−2|x|) so that it never overflows.
#[inline]
pub fn tanh(x: f32) -> f32 {
    let a = if x < 0.0 { -x } else { x };
    let e = exp(-2.0 * a);
    let t = (1.0 - e) / (1.0 + e);
    if x < 0.0 {
        -t
    } else {
        t
    }
}

/// Softmax of `logits` into `out` (same length): `e_i = exp(l_i − max)`, `p_i = e_i / Σe`
/// (Σ in [`sum`]'s order). Compiled for AVX2 and AVX-512 as well, picked at run time: the same
/// operations on every path, so the same bits (tested).
pub fn softmax(logits: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match crate::kernels::Isa::detect() {
        // SAFETY: `detect` names only paths this CPU has.
        crate::kernels::Isa::Avx512 => return unsafe { softmax_avx512(logits, out) },
        crate::kernels::Isa::Avx2 => return unsafe { softmax_avx2(logits, out) },
        _ => {}
    }
    softmax_body(logits, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn softmax_avx2(logits: &[f32], out: &mut [f32]) {
    softmax_body(logits, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_avx512(logits: &[f32], out: &mut [f32]) {
    softmax_body(logits, out)
}

#[inline(always)]
fn softmax_body(logits: &[f32], out: &mut [f32]) {
    let m = max(logits);
    for (o, &l) in out.iter_mut().zip(logits) {
        *o = exp_branchless(l - m);
    }
    let s = sum(out);
    let inv = 1.0 / s;
    for o in out.iter_mut() {
        *o *= inv;
    }
}

/// The largest of `a` that is not NaN (−∞ if none), in 16 lanes so that it vectorises. Which
/// of +0 and −0 it returns for a largest zero may differ from a serial scan; `l − max` then
/// differs only in the sign of a zero, and exp gives 1 for both.
#[inline(always)]
fn max(a: &[f32]) -> f32 {
    const W: usize = 16;
    let mut lanes = [f32::NEG_INFINITY; W];
    let mut c = a.chunks_exact(W);
    for x in &mut c {
        // `max` ignores NaN as `>` does (the lanes start at −∞ and never hold NaN), and
        // vectorises.
        for k in 0..W {
            lanes[k] = lanes[k].max(x[k]);
        }
    }
    for (k, &x) in c.remainder().iter().enumerate() {
        lanes[k] = if x > lanes[k] { x } else { lanes[k] };
    }
    lanes.iter().fold(f32::NEG_INFINITY, |m, &l| if l > m { l } else { m })
}

#[cfg(test)]
#[path = "fmath_tests.rs"]
mod tests;

//! The portable path: a software fused multiply-add, correctly rounded like IEEE 754 `fma`, and
//! the scalar reference kernel built on it. Every SIMD path must agree with it bit for bit.

/// `a · b + c` with one rounding, as IEEE 754 `fusedMultiplyAdd` in round-to-nearest-even.
///
/// The product of two f32 is exact in f64 (24 + 24 bits ≤ 53). The f64 sum is made exact by
/// TwoSum, then rounded to odd (an inexact sum with an even last bit moves one step toward the
/// exact value), so that the final rounding to f32 (53 ≥ 24 + 2 bits) is the correct one: no
/// double rounding. Signed zeros and infinities behave as IEEE says; a NaN stays a NaN (its
/// payload may differ from the hardware's).
#[inline]
pub fn fma(a: f32, b: f32, c: f32) -> f32 {
    let p = a as f64 * b as f64;
    let c = c as f64;
    let s = p + c;
    if !s.is_finite() {
        return s as f32;
    }
    let bb = s - p;
    let e = (p - (s - bb)) + (c - bb);
    let bits = s.to_bits();
    if e != 0.0 && bits & 1 == 0 {
        // s ≠ 0 here: a non-zero exact sum of these operands never rounds to zero in f64.
        let away = (e > 0.0) == (s > 0.0);
        return f64::from_bits(if away { bits + 1 } else { bits - 1 }) as f32;
    }
    s as f32
}

/// The scalar reference of [`super::fma_block`]: for every position p and output j < n, in
/// order i = 0..k, `acc[p·ld + j] = fma(xs[p][i], w[i·stride + j], acc[p·ld + j])`.
pub fn block(w: &[f32], stride: usize, n: usize, k: usize, xs: &[&[f32]], acc: &mut [f32], ld: usize) {
    for (p, x) in xs.iter().enumerate() {
        let a = &mut acc[p * ld..p * ld + n];
        for (i, &xi) in x[..k].iter().enumerate() {
            let row = &w[i * stride..i * stride + n];
            for (d, &wv) in a.iter_mut().zip(row) {
                *d = fma(xi, wv, *d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fma;

    /// Exact a·b + c as a rational compared through f64 pairs is hard; instead check against
    /// the platform's correctly rounded `mul_add` and, on x86-64 with FMA, the instruction.
    fn hw(a: f32, b: f32, c: f32) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the feature was detected.
            return unsafe { hw_x86(a, b, c) };
        }
        a.mul_add(b, c)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "fma")]
    fn hw_x86(a: f32, b: f32, c: f32) -> f32 {
        use std::arch::x86_64::*;
        _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)))
    }

    fn same(x: f32, y: f32) -> bool {
        (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
    }

    #[test]
    fn software_fma_matches_the_hardware_on_edge_cases() {
        let specials = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            f32::MIN_POSITIVE,
            -f32::MIN_POSITIVE,
            1e-45,
            -1e-45,
            f32::from_bits(0x007f_ffff),
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1.0 + f32::EPSILON,
            1.0 - f32::EPSILON / 2.0,
            0.5,
            3.0,
            1e30,
            -1e-30,
            16_777_217.0,
            f32::from_bits(0x3f80_0001),
            f32::from_bits(0xbf7f_ffff),
        ];
        for &a in &specials {
            for &b in &specials {
                for &c in &specials {
                    assert!(same(fma(a, b, c), hw(a, b, c)), "fma({a:e}, {b:e}, {c:e})");
                }
            }
        }
        // Halfway cases of the final rounding: (1 + 2^-12)² = 1 + 2^-11 + 2^-24 lies exactly
        // between two f32; a tiny c decides the direction, which double rounding gets wrong.
        let a = 1.0 + 2f32.powi(-12);
        for c in [
            0.0,
            1e-40,
            -1e-40,
            2f32.powi(-60),
            -2f32.powi(-60),
            -1.0,
            2f32.powi(-24),
        ] {
            assert!(same(fma(a, a, c), hw(a, a, c)), "halfway with c = {c:e}");
            assert!(same(fma(-a, a, -c), hw(-a, a, -c)));
        }
    }

    #[test]
    fn software_fma_matches_the_hardware_on_random_inputs() {
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for i in 0..2_000_000 {
            let r = next();
            let (a, b, c) = if i % 2 == 0 {
                // Arbitrary bit patterns: every exponent, subnormals, NaNs, infinities.
                (
                    f32::from_bits(r as u32),
                    f32::from_bits((r >> 32) as u32),
                    f32::from_bits(next() as u32),
                )
            } else {
                // Values of the network's scale, where a + b·c cancels often.
                let u = |v: u64| ((v & 0xff_ffff) as f32 / 8_388_608.0 - 1.0) * 4.0;
                let (a, b) = (u(r), u(r >> 24));
                let c = -(a * b) + u(next()) * 1e-6;
                (a, b, c)
            };
            assert!(same(fma(a, b, c), hw(a, b, c)), "fma({a:e}, {b:e}, {c:e})");
        }
    }
}

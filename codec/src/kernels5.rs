//! The hot loops of format version 5's geometric stage ([`crate::geo5`]), each a scalar
//! reference and an AVX2 path that computes every level with the same operations in the same
//! order (four levels at a time, tables read by gathers, no fused multiply-add), so that both
//! give the same bits (tested).

use crate::geo5::{Tables, SOURCES};

/// The smallest model probability taken into a logarithm.
pub(crate) const P_MIN: f32 = 1.0 / (1u64 << 40) as f32;

/// One window's inputs and outputs for [`logs`]: level k's model probability, logistic log-table
/// entries and log-count in; its four logs and its exponent sum `a` out.
pub(crate) struct Window<'a> {
    pub probs: &'a [f32],
    pub rows: [&'a [f32]; 2],
    pub lns: &'a mut [Vec<f64>; SOURCES],
    pub a: &'a mut [f64],
}

/// ln of the model's probabilities and the product's exponent sums
/// `a = ((g₀L₀ + g₁L₁) + g₂L₂) + g₃L₃` over a window (`lns[3]` holds L₃ on entry); returns the
/// largest `a` (−∞ for an empty window).
pub(crate) fn logs(t: &Tables, g: [f64; SOURCES], w: Window<'_>) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if pixelrnn_model::Isa::detect() != pixelrnn_model::Isa::Portable {
        // SAFETY: every path but the portable one has AVX2.
        return unsafe { logs_avx2(t, g, w) };
    }
    logs_scalar(t, g, w, 0)
}

/// [`logs`] from level `from` on.
pub(crate) fn logs_scalar(t: &Tables, g: [f64; SOURCES], w: Window<'_>, from: usize) -> f64 {
    let mut best = f64::NEG_INFINITY;
    for k in from..w.a.len() {
        let s = [
            t.ln(w.probs[k].max(P_MIN)),
            w.rows[0][k] as f64,
            w.rows[1][k] as f64,
            w.lns[3][k],
        ];
        w.lns[0][k] = s[0];
        w.lns[1][k] = s[1];
        w.lns[2][k] = s[2];
        let a = ((g[0] * s[0] + g[1] * s[1]) + g[2] * s[2]) + g[3] * s[3];
        w.a[k] = a;
        best = best.max(a);
    }
    best
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn logs_avx2(t: &Tables, g: [f64; SOURCES], w: Window<'_>) -> f64 {
    use std::arch::x86_64::*;
    let n = w.a.len();
    assert!(w.probs.len() >= n && w.rows[0].len() >= n && w.rows[1].len() >= n);
    assert!(w.lns.iter().all(|l| l.len() >= n));
    let (ln_tab, inv_tab) = t.ln_tables();
    let gv = g.map(|x| _mm256_set1_pd(x));
    let pmin = _mm_set1_ps(P_MIN);
    let (one, half, third, quarter) = (
        _mm256_set1_pd(1.0),
        _mm256_set1_pd(0.5),
        _mm256_set1_pd(1.0 / 3.0),
        _mm256_set1_pd(0.25),
    );
    let (f23, f8, ln2) = (
        _mm256_set1_pd(1.0 / (1u32 << 23) as f64),
        _mm256_set1_pd(1.0 / (1u32 << crate::geo5::LN_BITS) as f64),
        _mm256_set1_pd(crate::geo5::LN2),
    );
    let mut best = _mm256_set1_pd(f64::NEG_INFINITY);
    let end = n / 4 * 4;
    let mut k = 0;
    while k < end {
        // SAFETY: k + 4 ≤ n ≤ every slice's length (asserted); table indices are < 2⁸.
        unsafe {
            let x = _mm_max_ps(_mm_loadu_ps(w.probs.as_ptr().add(k)), pmin);
            let bits = _mm_castps_si128(x);
            let e = _mm_sub_epi32(
                _mm_and_si128(_mm_srli_epi32(bits, 23), _mm_set1_epi32(0xff)),
                _mm_set1_epi32(127),
            );
            let frac = _mm_and_si128(bits, _mm_set1_epi32(0x7f_ffff));
            let i = _mm_srli_epi32(frac, 23 - crate::geo5::LN_BITS as i32);
            let m = _mm256_add_pd(one, _mm256_mul_pd(_mm256_cvtepi32_pd(frac), f23));
            let c = _mm256_add_pd(one, _mm256_mul_pd(_mm256_cvtepi32_pd(i), f8));
            let r = _mm256_mul_pd(_mm256_sub_pd(m, c), _mm256_i32gather_pd::<8>(inv_tab.as_ptr(), i));
            let p = _mm256_sub_pd(third, _mm256_mul_pd(r, quarter));
            let p = _mm256_sub_pd(half, _mm256_mul_pd(r, p));
            let p = _mm256_sub_pd(one, _mm256_mul_pd(r, p));
            let poly = _mm256_mul_pd(r, p);
            let head = _mm256_add_pd(
                _mm256_mul_pd(_mm256_cvtepi32_pd(e), ln2),
                _mm256_i32gather_pd::<8>(ln_tab.as_ptr(), i),
            );
            let s0 = _mm256_add_pd(head, poly);
            let s1 = _mm256_cvtps_pd(_mm_loadu_ps(w.rows[0].as_ptr().add(k)));
            let s2 = _mm256_cvtps_pd(_mm_loadu_ps(w.rows[1].as_ptr().add(k)));
            let s3 = _mm256_loadu_pd(w.lns[3].as_ptr().add(k));
            _mm256_storeu_pd(w.lns[0].as_mut_ptr().add(k), s0);
            _mm256_storeu_pd(w.lns[1].as_mut_ptr().add(k), s1);
            _mm256_storeu_pd(w.lns[2].as_mut_ptr().add(k), s2);
            let a = _mm256_add_pd(_mm256_mul_pd(gv[0], s0), _mm256_mul_pd(gv[1], s1));
            let a = _mm256_add_pd(a, _mm256_mul_pd(gv[2], s2));
            let a = _mm256_add_pd(a, _mm256_mul_pd(gv[3], s3));
            _mm256_storeu_pd(w.a.as_mut_ptr().add(k), a);
            best = _mm256_max_pd(best, a);
        }
        k += 4;
    }
    let mut lanes = [0f64; 4];
    // SAFETY: four doubles.
    unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), best) };
    let tail = logs_scalar(t, g, w, end);
    lanes.iter().fold(tail, |m, &x| m.max(x))
}

/// `q[k] ← exp(q[k] − best)` ([`Tables::exp`]) for every k.
pub(crate) fn exps(t: &Tables, q: &mut [f64], best: f64) {
    #[cfg(target_arch = "x86_64")]
    if pixelrnn_model::Isa::detect() != pixelrnn_model::Isa::Portable {
        // SAFETY: every path but the portable one has AVX2.
        return unsafe { exps_avx2(t, q, best) };
    }
    exps_scalar(t, q, best)
}

pub(crate) fn exps_scalar(t: &Tables, q: &mut [f64], best: f64) {
    for x in q {
        *x = t.exp(*x - best);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn exps_avx2(t: &Tables, q: &mut [f64], best: f64) {
    use crate::geo5::{EXP_STEPS, LN2, LOG2E};
    use std::arch::x86_64::*;
    let pow2 = t.pow2_table();
    let b = _mm256_set1_pd(best);
    let scale_t = _mm256_set1_pd(LOG2E * EXP_STEPS as f64);
    let step = _mm256_set1_pd(LN2 / EXP_STEPS as f64);
    let low = _mm256_set1_pd(-700.0);
    let coef = [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0].map(|c| _mm256_set1_pd(c));
    let end = q.len() / 4 * 4;
    let mut k = 0;
    while k < end {
        // SAFETY: k + 4 ≤ len; pow2's index is n mod 32.
        unsafe {
            let x = _mm256_sub_pd(_mm256_loadu_pd(q.as_ptr().add(k)), b);
            // Lanes below −700 (or NaN) give 0; clamp them first so the integer steps stay sane.
            let ok = _mm256_cmp_pd::<_CMP_GE_OQ>(x, low);
            let xs = _mm256_blendv_pd(low, x, ok);
            let tt = _mm256_mul_pd(xs, scale_t);
            let mut n = _mm256_cvttpd_epi32(tt);
            // n > t (truncation went up): n − 1; the mask is −1 there.
            let up = _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_GT_OQ>(_mm256_cvtepi32_pd(n), tt));
            let up32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(
                up,
                _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7),
            ));
            n = _mm_add_epi32(n, up32);
            let r = _mm256_sub_pd(xs, _mm256_mul_pd(_mm256_cvtepi32_pd(n), step));
            // 1 + r(1 + r(1/2 + r(1/6 + r(1/24 + r(1/120 + r/720))))), innermost first.
            let mut p = _mm256_add_pd(coef[1], _mm256_mul_pd(r, coef[0]));
            for c in &coef[2..] {
                p = _mm256_add_pd(*c, _mm256_mul_pd(r, p));
            }
            let j = _mm_and_si128(n, _mm_set1_epi32(EXP_STEPS as i32 - 1));
            let a = _mm_srai_epi32(n, 5);
            let two_a = _mm256_castsi256_pd(_mm256_slli_epi64(
                _mm256_cvtepi32_epi64(_mm_add_epi32(a, _mm_set1_epi32(1023))),
                52,
            ));
            let e = _mm256_mul_pd(_mm256_mul_pd(p, _mm256_i32gather_pd::<8>(pow2.as_ptr(), j)), two_a);
            _mm256_storeu_pd(q.as_mut_ptr().add(k), _mm256_and_pd(e, ok));
        }
        k += 4;
    }
    exps_scalar(t, &mut q[end..], best);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u32) -> u32 {
        *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *seed >> 8
    }

    /// Window lengths around the four-lane blocks; probabilities from 0 and subnormals to 1.
    #[test]
    fn logs_paths_agree_bit_for_bit() {
        let t = Tables::get();
        let mut seed = 7;
        for n in [0, 1, 3, 4, 5, 8, 15, 33, 256] {
            let probs: Vec<f32> = (0..n)
                .map(|k| match k % 6 {
                    0 => 0.0,
                    1 => f32::MIN_POSITIVE / 4.0,
                    2 => 1.0,
                    _ => lcg(&mut seed) as f32 / (1u32 << 24) as f32,
                })
                .collect();
            let rows: Vec<f32> = (0..n).map(|_| -(lcg(&mut seed) as f32) / 1e6).collect();
            let counts: Vec<f64> = (0..n).map(|_| (lcg(&mut seed) % 12) as f64).collect();
            let g = [0.6, 0.23, -0.2, 1.7];
            let run = |f: &dyn Fn(Window<'_>) -> f64| {
                let mut lns: [Vec<f64>; SOURCES] = [vec![0.0; n], vec![0.0; n], vec![0.0; n], counts.clone()];
                let mut a = vec![0.0; n];
                let best = f(Window {
                    probs: &probs,
                    rows: [&rows, &rows[..]],
                    lns: &mut lns,
                    a: &mut a,
                });
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                (best.to_bits(), bits(&a), lns.map(|l| bits(&l)))
            };
            let plain = run(&|w| logs_scalar(t, g, w, 0));
            let fast = run(&|w| logs(t, g, w));
            assert_eq!(plain, fast, "{n} levels");
        }
    }

    /// Exponents from 0 down past −700, NaN included, around the four-lane blocks.
    #[test]
    fn exps_paths_agree_bit_for_bit() {
        let t = Tables::get();
        let mut seed = 11;
        for n in [0, 1, 3, 4, 7, 64, 255] {
            let q: Vec<f64> = (0..n)
                .map(|k| match k % 7 {
                    0 => 0.0,
                    1 => -700.0,
                    2 => -700.000_000_1,
                    3 => f64::NAN,
                    4 => -1e9,
                    _ => -(lcg(&mut seed) as f64) / 20_000.0,
                })
                .collect();
            for best in [0.0, -3.5, 2.25] {
                let (mut a, mut b) = (q.clone(), q.clone());
                exps_scalar(t, &mut a, best);
                exps(t, &mut b, best);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b), "{n} levels, best {best}");
            }
        }
    }
}

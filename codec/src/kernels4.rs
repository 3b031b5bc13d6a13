//! The hot loops of format version 4's adaptive coding, each a scalar reference and an AVX2
//! path that computes the same operations in the same order (lane i of four takes the levels
//! ≡ i mod 4), so that both give the same bits (tested).

/// The mean and the mean square of a distribution over levels 0, 1, …: four partial sums (level
/// v in sum v mod 4) added as (s₀ + s₁) + (s₂ + s₃).
pub(crate) fn moments(probs: &[f32]) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if pixelrnn_model::Isa::detect() != pixelrnn_model::Isa::Portable {
        // SAFETY: every path but the portable one has AVX2.
        return unsafe { moments_avx2(probs) };
    }
    moments_scalar(probs)
}

pub(crate) fn moments_scalar(probs: &[f32]) -> (f64, f64) {
    let (mut m1, mut m2) = ([0f64; 4], [0f64; 4]);
    for (k, &q) in probs.iter().enumerate() {
        let v = k as f64;
        let qv = q as f64 * v;
        m1[k % 4] += qv;
        m2[k % 4] += qv * v;
    }
    ((m1[0] + m1[1]) + (m1[2] + m1[3]), (m2[0] + m2[1]) + (m2[2] + m2[3]))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn moments_avx2(probs: &[f32]) -> (f64, f64) {
    use std::arch::x86_64::*;
    let (mut m1, mut m2) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let mut v = _mm256_set_pd(3.0, 2.0, 1.0, 0.0);
    let four = _mm256_set1_pd(4.0);
    let n = probs.len() / 4 * 4;
    let mut k = 0;
    while k < n {
        // SAFETY: k + 4 ≤ len.
        let q = _mm256_cvtps_pd(unsafe { _mm_loadu_ps(probs.as_ptr().add(k)) });
        let qv = _mm256_mul_pd(q, v);
        m1 = _mm256_add_pd(m1, qv);
        m2 = _mm256_add_pd(m2, _mm256_mul_pd(qv, v));
        v = _mm256_add_pd(v, four);
        k += 4;
    }
    let (mut a, mut b) = ([0f64; 4], [0f64; 4]);
    // SAFETY: four doubles each.
    unsafe {
        _mm256_storeu_pd(a.as_mut_ptr(), m1);
        _mm256_storeu_pd(b.as_mut_ptr(), m2);
    }
    for (i, &q) in probs[n..].iter().enumerate() {
        let v = (n + i) as f64;
        let qv = q as f64 * v;
        a[i] += qv;
        b[i] += qv * v;
    }
    ((a[0] + a[1]) + (a[2] + a[3]), (b[0] + b[1]) + (b[2] + b[3]))
}

/// One run of levels of the mixture: `out[k] = ((w₀·m + w₁·(r₁·i₁)) + w₂·(r₂·i₂)) + w₃·(h·i₃)`
/// rounded to f32, with m = `probs[k]` (also kept in `model`), r₁, r₂ = `rows[…][k]` and
/// h = `counts[k]`.
pub(crate) struct Run<'a> {
    pub probs: &'a [f32],
    pub rows: [&'a [f32]; 2],
    pub counts: &'a [u32],
    pub model: &'a mut [f64],
    pub out: &'a mut [f32],
}

pub(crate) fn mix(wt: [f64; 4], inv: [f64; 3], r: Run<'_>) {
    #[cfg(target_arch = "x86_64")]
    if pixelrnn_model::Isa::detect() != pixelrnn_model::Isa::Portable {
        // SAFETY: every path but the portable one has AVX2.
        return unsafe { mix_avx2(wt, inv, r) };
    }
    mix_scalar(wt, inv, r)
}

pub(crate) fn mix_scalar(wt: [f64; 4], inv: [f64; 3], r: Run<'_>) {
    for k in 0..r.out.len() {
        let m = r.probs[k] as f64;
        r.model[k] = m;
        let a = r.rows[0][k] as f64 * inv[0];
        let b = r.rows[1][k] as f64 * inv[1];
        let h = r.counts[k] as i32 as f64 * inv[2];
        r.out[k] = (((wt[0] * m + wt[1] * a) + wt[2] * b) + wt[3] * h) as f32;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mix_avx2(wt: [f64; 4], inv: [f64; 3], r: Run<'_>) {
    use std::arch::x86_64::*;
    let len = r.out.len();
    assert!(
        r.probs.len() >= len
            && r.rows[0].len() >= len
            && r.rows[1].len() >= len
            && r.counts.len() >= len
            && r.model.len() >= len
    );
    let w = wt.map(|x| _mm256_set1_pd(x));
    let i = inv.map(|x| _mm256_set1_pd(x));
    let n = len / 4 * 4;
    let mut k = 0;
    while k < n {
        // SAFETY: k + 4 ≤ len ≤ every slice's length (asserted).
        unsafe {
            let m = _mm256_cvtps_pd(_mm_loadu_ps(r.probs.as_ptr().add(k)));
            _mm256_storeu_pd(r.model.as_mut_ptr().add(k), m);
            let a = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(r.rows[0].as_ptr().add(k))), i[0]);
            let b = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(r.rows[1].as_ptr().add(k))), i[1]);
            let c = _mm256_cvtepi32_pd(_mm_loadu_si128(r.counts.as_ptr().add(k) as *const __m128i));
            let h = _mm256_mul_pd(c, i[2]);
            let t = _mm256_add_pd(_mm256_mul_pd(w[0], m), _mm256_mul_pd(w[1], a));
            let t = _mm256_add_pd(t, _mm256_mul_pd(w[2], b));
            let o = _mm256_add_pd(t, _mm256_mul_pd(w[3], h));
            _mm_storeu_ps(r.out.as_mut_ptr().add(k), _mm256_cvtpd_ps(o));
        }
        k += 4;
    }
    mix_scalar(
        wt,
        inv,
        Run {
            probs: &r.probs[n..],
            rows: [&r.rows[0][n..], &r.rows[1][n..]],
            counts: &r.counts[n..],
            model: &mut r.model[n..],
            out: &mut r.out[n..],
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Awkward distributions: uneven lengths, tiny and huge values, zeros.
    fn cases() -> Vec<Vec<f32>> {
        let mut v = Vec::new();
        for len in [1, 2, 3, 4, 5, 7, 16, 255, 256] {
            let mut s = 0x9e37_79b9u32;
            v.push(
                (0..len)
                    .map(|k| {
                        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        match k % 5 {
                            0 => 0.0,
                            1 => f32::MIN_POSITIVE,
                            _ => (s >> 8) as f32 / (1u32 << 24) as f32,
                        }
                    })
                    .collect(),
            );
        }
        v
    }

    #[test]
    fn moments_paths_agree_bit_for_bit() {
        for p in cases() {
            let (a, b) = moments_scalar(&p);
            let (c, d) = moments(&p);
            assert_eq!(
                (a.to_bits(), b.to_bits()),
                (c.to_bits(), d.to_bits()),
                "{} levels",
                p.len()
            );
        }
        assert_eq!(moments(&[0.0, 0.5, 0.5]), (1.5, 2.5));
    }

    #[test]
    fn mix_paths_agree_bit_for_bit() {
        for p in cases() {
            let n = p.len();
            let r1: Vec<f32> = p.iter().rev().map(|&x| x * 0.5 + 1e-7).collect();
            let r2: Vec<f32> = p.iter().map(|&x| 1.0 - x).collect();
            let counts: Vec<u32> = (0..n as u32).map(|k| k * 37 % 65_537 + 1).collect();
            let (wt, inv) = ([0.51, 0.27, 0.12, 0.1], [1.0 / 3.0, 0.7, 1.0 / 7.0]);
            let (mut m1, mut o1) = (vec![0.0; n], vec![0.0; n]);
            let (mut m2, mut o2) = (vec![0.0; n], vec![0.0; n]);
            let run = |model, out| Run {
                probs: &p,
                rows: [&r1, &r2],
                counts: &counts,
                model,
                out,
            };
            mix_scalar(wt, inv, run(&mut m1, &mut o1));
            mix(wt, inv, run(&mut m2, &mut o2));
            assert_eq!(m1, m2);
            let bits = |o: &[f32]| o.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&o1), bits(&o2), "{n} levels");
        }
    }
}

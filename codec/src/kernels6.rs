//! The hot loops of format version 6's context model ([`crate::cm6`]): the dense part of the
//! mixture and the cast to f32, each a scalar reference and an AVX2 path that computes every
//! level's operations in the same order (four levels a step, no fused multiply-add), so that both
//! give the same bits (tested).

/// `acc[v] = ((u + a₀ · n[v]) + a₁ · r₁[v]) + a₂ · r₂[v]` for every level v: the uniform term,
/// the order-0 counts and the two logistic rows (an absent order-0 row has a₀ = 0, which adds
/// +0 and leaves the sum's bits as they are).
pub(crate) fn dense(acc: &mut [f64], u: f64, a0: f64, n: &[u16], logs: [(f64, &[f32]); 2]) {
    assert!(n.len() >= acc.len() && logs.iter().all(|l| l.1.len() >= acc.len()));
    #[cfg(target_arch = "x86_64")]
    if pixelrnn_model::Isa::detect() != pixelrnn_model::Isa::Portable {
        // SAFETY: every path but the portable one has AVX2; the lengths are checked above.
        return unsafe { dense_avx2(acc, u, a0, n, logs) };
    }
    dense_scalar(acc, u, a0, n, logs)
}

pub(crate) fn dense_scalar(acc: &mut [f64], u: f64, a0: f64, n: &[u16], [(a1, r1), (a2, r2)]: [(f64, &[f32]); 2]) {
    for (v, s) in acc.iter_mut().enumerate() {
        *s = ((u + a0 * n[v] as f64) + a1 * r1[v] as f64) + a2 * r2[v] as f64;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dense_avx2(acc: &mut [f64], u: f64, a0: f64, n: &[u16], logs: [(f64, &[f32]); 2]) {
    use std::arch::x86_64::*;
    let [(a1, r1), (a2, r2)] = logs;
    let len = acc.len() / 4 * 4;
    let (vu, va0, va1, va2) = (
        _mm256_set1_pd(u),
        _mm256_set1_pd(a0),
        _mm256_set1_pd(a1),
        _mm256_set1_pd(a2),
    );
    let mut k = 0;
    while k < len {
        // SAFETY: k + 4 ≤ every slice's length (checked by `dense`).
        unsafe {
            let counts = _mm_cvtepu16_epi32(_mm_loadl_epi64(n.as_ptr().add(k) as *const __m128i));
            let nv = _mm256_cvtepi32_pd(counts);
            let l1 = _mm256_cvtps_pd(_mm_loadu_ps(r1.as_ptr().add(k)));
            let l2 = _mm256_cvtps_pd(_mm_loadu_ps(r2.as_ptr().add(k)));
            let s = _mm256_add_pd(vu, _mm256_mul_pd(va0, nv));
            let s = _mm256_add_pd(s, _mm256_mul_pd(va1, l1));
            let s = _mm256_add_pd(s, _mm256_mul_pd(va2, l2));
            _mm256_storeu_pd(acc.as_mut_ptr().add(k), s);
        }
        k += 4;
    }
    for v in len..acc.len() {
        acc[v] = ((u + a0 * n[v] as f64) + a1 * r1[v] as f64) + a2 * r2[v] as f64;
    }
}

/// `out[v] = acc[v]` rounded to f32.
pub(crate) fn to_f32(acc: &[f64], out: &mut [f32]) {
    assert!(out.len() >= acc.len());
    #[cfg(target_arch = "x86_64")]
    if pixelrnn_model::Isa::detect() != pixelrnn_model::Isa::Portable {
        // SAFETY: as in `dense`.
        return unsafe { to_f32_avx2(acc, out) };
    }
    to_f32_scalar(acc, out)
}

pub(crate) fn to_f32_scalar(acc: &[f64], out: &mut [f32]) {
    for (o, &s) in out.iter_mut().zip(acc) {
        *o = s as f32;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn to_f32_avx2(acc: &[f64], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let len = acc.len() / 4 * 4;
    let mut k = 0;
    while k < len {
        // SAFETY: k + 4 ≤ both lengths. The conversion rounds to nearest even, as `as f32`.
        unsafe {
            _mm_storeu_ps(
                out.as_mut_ptr().add(k),
                _mm256_cvtpd_ps(_mm256_loadu_pd(acc.as_ptr().add(k))),
            )
        };
        k += 4;
    }
    for v in len..acc.len() {
        out[v] = acc[v] as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avx2_paths_give_the_scalar_bits() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            seed
        };
        for len in [1, 3, 4, 5, 17, 255, 256] {
            let n: Vec<u16> = (0..len).map(|_| (next() >> 50) as u16).collect();
            let r1: Vec<f32> = (0..len)
                .map(|_| f32::from_bits((next() >> 41) as u32 | 0x3000_0000))
                .collect();
            let r2: Vec<f32> = (0..len)
                .map(|i| if i % 7 == 0 { 5.96e-8 } else { 1.0 / (1 + i) as f32 })
                .collect();
            for (u, a0) in [(1e-9, 0.0), (0.25, 1.0 / 3000.0), (3.7e-7, 1e-300)] {
                let logs = [(0.3, &r1[..]), (1.0 / 7.0, &r2[..])];
                let (mut a, mut b) = (vec![0.0; len], vec![0.0; len]);
                dense_scalar(&mut a, u, a0, &n, logs);
                dense(&mut b, u, a0, &n, logs);
                assert!(
                    a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "dense, {len} levels"
                );
                // Values that round awkwardly to f32: halfway cases, subnormals, tiny ones.
                a.iter_mut().enumerate().for_each(|(i, x)| {
                    if i % 3 == 1 {
                        *x = f64::from_bits(0x3FF0_0000_1000_0000 + i as u64);
                    } else if i % 3 == 2 {
                        *x = 1e-40 * i as f64;
                    }
                });
                let (mut fa, mut fb) = (vec![0f32; len], vec![0f32; len]);
                to_f32_scalar(&a, &mut fa);
                to_f32(&a, &mut fb);
                assert!(
                    fa.iter().zip(&fb).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "to_f32, {len} levels"
                );
            }
        }
    }
}

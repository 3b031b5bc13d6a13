//! x86-64 kernels: AVX2 + FMA (8 lanes) and AVX-512F (16 lanes). Lanes hold different outputs;
//! each output accumulates its terms in order with one `vfmadd` per term, so every path gives the
//! bits of [`super::soft::block`].

use std::arch::x86_64::*;

/// One block of `PB` positions × `NV` vectors of outputs at column 0 of `w` / `acc[p]`: full
/// vectors, or masked ones in the tail (`lanes` valid outputs in all).
///
/// # Safety
/// AVX2 and FMA are available; `w` is readable at `i·stride + j`, `xs[p]` at `i`, and `acc[p]`
/// readable and writable at `j`, for i < k and j < lanes.
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2<const PB: usize, const NV: usize>(
    w: *const f32,
    stride: usize,
    k: usize,
    xs: &[*const f32; PB],
    acc: &[*mut f32; PB],
    lanes: usize,
) {
    const L: usize = 8;
    let full = lanes == NV * L;
    let masks: [__m256i; NV] = std::array::from_fn(|v| {
        let left = lanes.saturating_sub(v * L).min(L) as i32;
        _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
    });
    let mut a = [[_mm256_setzero_ps(); NV]; PB];
    for p in 0..PB {
        for v in 0..NV {
            a[p][v] = if full {
                _mm256_loadu_ps(acc[p].add(v * L))
            } else {
                _mm256_maskload_ps(acc[p].add(v * L), masks[v])
            };
        }
    }
    for i in 0..k {
        let row = w.add(i * stride);
        let mut wv = [_mm256_setzero_ps(); NV];
        for v in 0..NV {
            wv[v] = if full {
                _mm256_loadu_ps(row.add(v * L))
            } else {
                _mm256_maskload_ps(row.add(v * L), masks[v])
            };
        }
        for p in 0..PB {
            let x = _mm256_set1_ps(*xs[p].add(i));
            for v in 0..NV {
                a[p][v] = _mm256_fmadd_ps(x, wv[v], a[p][v]);
            }
        }
    }
    for p in 0..PB {
        for v in 0..NV {
            if full {
                _mm256_storeu_ps(acc[p].add(v * L), a[p][v]);
            } else {
                _mm256_maskstore_ps(acc[p].add(v * L), masks[v], a[p][v]);
            }
        }
    }
}

/// As [`block_avx2`] with 16-lane AVX-512 vectors.
///
/// # Safety
/// AVX-512F is available; the bounds of [`block_avx2`].
#[target_feature(enable = "avx512f")]
unsafe fn block_avx512<const PB: usize, const NV: usize>(
    w: *const f32,
    stride: usize,
    k: usize,
    xs: &[*const f32; PB],
    acc: &[*mut f32; PB],
    lanes: usize,
) {
    const L: usize = 16;
    let masks: [__mmask16; NV] = std::array::from_fn(|v| {
        let left = lanes.saturating_sub(v * L).min(L);
        ((1u32 << left) - 1) as u16
    });
    let mut a = [[_mm512_setzero_ps(); NV]; PB];
    for p in 0..PB {
        for v in 0..NV {
            a[p][v] = _mm512_maskz_loadu_ps(masks[v], acc[p].add(v * L));
        }
    }
    for i in 0..k {
        let row = w.add(i * stride);
        let mut wv = [_mm512_setzero_ps(); NV];
        for v in 0..NV {
            wv[v] = _mm512_maskz_loadu_ps(masks[v], row.add(v * L));
        }
        for p in 0..PB {
            let x = _mm512_set1_ps(*xs[p].add(i));
            for v in 0..NV {
                a[p][v] = _mm512_fmadd_ps(x, wv[v], a[p][v]);
            }
        }
    }
    for p in 0..PB {
        for v in 0..NV {
            _mm512_mask_storeu_ps(acc[p].add(v * L), masks[v], a[p][v]);
        }
    }
}

/// One position, `n` outputs: vectors of `NV·L` outputs, the tail with as few vectors as it
/// needs (so that no load or fma is spent on absent outputs).
macro_rules! single {
    ($kern:ident, $l:expr, $w:expr, $stride:expr, $n:expr, $k:expr, $x:expr, $acc:expr) => {{
        let (w, stride, n, k, x, acc) = ($w, $stride, $n, $k, $x, $acc);
        let mut j = 0;
        while j < n {
            let lanes = (n - j).min(8 * $l);
            let (wj, aj) = (w.add(j), [acc.add(j)]);
            match lanes.div_ceil($l) {
                1 => $kern::<1, 1>(wj, stride, k, &x, &aj, lanes),
                2 => $kern::<1, 2>(wj, stride, k, &x, &aj, lanes),
                3 => $kern::<1, 3>(wj, stride, k, &x, &aj, lanes),
                4 => $kern::<1, 4>(wj, stride, k, &x, &aj, lanes),
                5 | 6 => $kern::<1, 6>(wj, stride, k, &x, &aj, lanes),
                _ => $kern::<1, 8>(wj, stride, k, &x, &aj, lanes),
            }
            j += lanes;
        }
    }};
}

/// Every position of a call: blocks of 6, then 4, through `$positions`; the rest one at a time
/// through `$kern` (`$l` lanes).
macro_rules! by_positions {
    ($positions:ident, $kern:ident, $l:expr, ($w:expr, $stride:expr, $n:expr, $k:expr, $xs:expr, $acc:expr, $ld:expr)) => {{
        let (w, stride, n, k, xs, acc, ld): (&[f32], usize, usize, usize, &[&[f32]], &mut [f32], usize) =
            ($w, $stride, $n, $k, $xs, $acc, $ld);
        let (wp, ap) = (w.as_ptr(), acc.as_mut_ptr());
        let mut p = 0;
        while xs.len() - p >= 6 {
            $positions::<6>(wp, stride, n, k, xs, p, ap, ld);
            p += 6;
        }
        match xs.len() - p {
            4 | 5 => {
                $positions::<4>(wp, stride, n, k, xs, p, ap, ld);
                p += 4;
            }
            3 => {
                $positions::<3>(wp, stride, n, k, xs, p, ap, ld);
                p += 3;
            }
            2 => {
                $positions::<2>(wp, stride, n, k, xs, p, ap, ld);
                p += 2;
            }
            _ => {}
        }
        for (q, x) in xs.iter().enumerate().skip(p) {
            single!($kern, $l, wp, stride, n, k, [x.as_ptr()], ap.add(q * ld));
        }
    }};
}

/// `PB` positions from `p` on, every output, in blocks of up to 16 outputs.
///
/// # Safety
/// AVX2 and FMA are available; bounds as checked by [`super::fma_block`].
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn positions2<const PB: usize>(
    wp: *const f32,
    stride: usize,
    n: usize,
    k: usize,
    xs: &[&[f32]],
    p: usize,
    ap: *mut f32,
    ld: usize,
) {
    let x: [*const f32; PB] = std::array::from_fn(|q| xs[p + q].as_ptr());
    let mut j = 0;
    while j < n {
        // At most 12 accumulators and 4 weight vectors: 16 outputs for 4–6 positions, 24 for
        // 3, 32 for 2.
        let most = match PB {
            2 => 32,
            3 => 24,
            _ => 16,
        };
        let lanes = (n - j).min(most);
        let a: [*mut f32; PB] = std::array::from_fn(|q| ap.add((p + q) * ld + j));
        match lanes.div_ceil(8) {
            1 => block_avx2::<PB, 1>(wp.add(j), stride, k, &x, &a, lanes),
            2 => block_avx2::<PB, 2>(wp.add(j), stride, k, &x, &a, lanes),
            3 => block_avx2::<PB, 3>(wp.add(j), stride, k, &x, &a, lanes),
            _ => block_avx2::<PB, 4>(wp.add(j), stride, k, &x, &a, lanes),
        }
        j += lanes;
    }
}

/// AVX2 + FMA: blocks of 6 (then 4) positions × 16 outputs (12 accumulators of the 16
/// registers); single positions in up to 64 outputs.
///
/// # Safety
/// AVX2 and FMA are available; bounds as checked by [`super::fma_block`].
pub unsafe fn block2(w: &[f32], stride: usize, n: usize, k: usize, xs: &[&[f32]], acc: &mut [f32], ld: usize) {
    by_positions!(positions2, block_avx2, 8, (w, stride, n, k, xs, acc, ld));
}

/// `PB` positions from `p` on, every output, in blocks of up to 64 outputs.
///
/// # Safety
/// AVX-512F is available; bounds as checked by [`super::fma_block`].
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn positions512<const PB: usize>(
    wp: *const f32,
    stride: usize,
    n: usize,
    k: usize,
    xs: &[&[f32]],
    p: usize,
    ap: *mut f32,
    ld: usize,
) {
    let x: [*const f32; PB] = std::array::from_fn(|q| xs[p + q].as_ptr());
    let mut j = 0;
    while j < n {
        let lanes = (n - j).min(64);
        let a: [*mut f32; PB] = std::array::from_fn(|q| ap.add((p + q) * ld + j));
        match lanes.div_ceil(16) {
            1 => block_avx512::<PB, 1>(wp.add(j), stride, k, &x, &a, lanes),
            2 => block_avx512::<PB, 2>(wp.add(j), stride, k, &x, &a, lanes),
            3 => block_avx512::<PB, 3>(wp.add(j), stride, k, &x, &a, lanes),
            _ => block_avx512::<PB, 4>(wp.add(j), stride, k, &x, &a, lanes),
        }
        j += lanes;
    }
}

/// AVX-512F: blocks of 6 (then 4) positions × 64 outputs (24 accumulators of the 32
/// registers); single positions in up to 128 outputs.
///
/// # Safety
/// AVX-512F is available; bounds as checked by [`super::fma_block`].
pub unsafe fn block512(w: &[f32], stride: usize, n: usize, k: usize, xs: &[&[f32]], acc: &mut [f32], ld: usize) {
    by_positions!(positions512, block_avx512, 16, (w, stride, n, k, xs, acc, ld));
}

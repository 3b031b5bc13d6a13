//! aarch64 kernels: NEON (4 lanes, `vfmaq_f32`); outputs that do not fill a vector use the scalar
//! fused multiply-add instruction. Same bits as [`super::soft::block`].

use std::arch::aarch64::*;

/// One block of `PB` positions × `NV` full vectors of outputs.
///
/// # Safety
/// `w` is readable at `i·stride + j`, `xs[p]` at `i`, and `acc[p]` readable and writable at `j`,
/// for i < k and j < 4·NV.
#[target_feature(enable = "neon")]
unsafe fn block_neon<const PB: usize, const NV: usize>(
    w: *const f32,
    stride: usize,
    k: usize,
    xs: &[*const f32; PB],
    acc: &[*mut f32; PB],
) {
    let mut a = [[vdupq_n_f32(0.0); NV]; PB];
    for p in 0..PB {
        for v in 0..NV {
            a[p][v] = vld1q_f32(acc[p].add(v * 4));
        }
    }
    for i in 0..k {
        let row = w.add(i * stride);
        let mut wv = [vdupq_n_f32(0.0); NV];
        for v in 0..NV {
            wv[v] = vld1q_f32(row.add(v * 4));
        }
        for p in 0..PB {
            let x = vdupq_n_f32(*xs[p].add(i));
            for v in 0..NV {
                a[p][v] = vfmaq_f32(a[p][v], x, wv[v]);
            }
        }
    }
    for p in 0..PB {
        for v in 0..NV {
            vst1q_f32(acc[p].add(v * 4), a[p][v]);
        }
    }
}

/// 4 positions × 16 outputs per block, or 1 position × 32 outputs; then 4-output vectors, then
/// single outputs.
///
/// # Safety
/// Bounds as checked by [`super::fma_block`].
pub unsafe fn block(w: &[f32], stride: usize, n: usize, k: usize, xs: &[&[f32]], acc: &mut [f32], ld: usize) {
    let wp = w.as_ptr();
    let ap = acc.as_mut_ptr();
    let np = xs.len();
    let mut p = 0;
    while p + 4 <= np {
        let x: [*const f32; 4] = std::array::from_fn(|q| xs[p + q].as_ptr());
        let mut j = 0;
        while j + 16 <= n {
            let a: [*mut f32; 4] = std::array::from_fn(|q| ap.add((p + q) * ld + j));
            block_neon::<4, 4>(wp.add(j), stride, k, &x, &a);
            j += 16;
        }
        for q in 0..4 {
            rest(wp, stride, k, xs[p + q].as_ptr(), ap.add((p + q) * ld), j, n);
        }
        p += 4;
    }
    while p < np {
        let x = [xs[p].as_ptr()];
        let mut j = 0;
        while j + 32 <= n {
            block_neon::<1, 8>(wp.add(j), stride, k, &x, &[ap.add(p * ld + j)]);
            j += 32;
        }
        rest(wp, stride, k, x[0], ap.add(p * ld), j, n);
        p += 1;
    }
}

/// Outputs `j0..n` of one position: 4-lane vectors, then scalar fused multiply-adds.
///
/// # Safety
/// As [`block`].
unsafe fn rest(w: *const f32, stride: usize, k: usize, x: *const f32, acc: *mut f32, mut j: usize, n: usize) {
    while j + 4 <= n {
        block_neon::<1, 1>(w.add(j), stride, k, &[x], &[acc.add(j)]);
        j += 4;
    }
    while j < n {
        let mut a = *acc.add(j);
        for i in 0..k {
            // `mul_add` is the fused `fmadd` instruction on aarch64 (no library call).
            a = (*x.add(i)).mul_add(*w.add(i * stride + j), a);
        }
        *acc.add(j) = a;
        j += 1;
    }
}

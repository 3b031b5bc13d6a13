//! The engine's hot kernel: blocks of positions × outputs accumulated with fused multiply-adds,
//! lanes holding different outputs, and its run-time dispatch (AVX-512, AVX2 + FMA, NEON, or the
//! portable software fma). Every path gives the same bits: each output takes its terms in one
//! fixed order, one correctly rounded fma per term, however many positions and outputs are
//! computed together.

#[cfg(target_arch = "aarch64")]
mod neon;
pub mod soft;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

/// An instruction-set path of [`fma_block`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Scalar code with the software fma ([`soft::fma`]): any CPU.
    Portable,
    /// x86-64 AVX2 with FMA3, 8 lanes.
    Avx2,
    /// x86-64 AVX-512F, 16 lanes.
    Avx512,
    /// aarch64 Advanced SIMD, 4 lanes.
    Neon,
}

impl Isa {
    /// Every path this CPU can run, the portable one first.
    pub fn available() -> Vec<Isa> {
        let mut v = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(Isa::Avx2);
            }
            if is_x86_feature_detected!("avx512f") {
                v.push(Isa::Avx512);
            }
        }
        #[cfg(target_arch = "aarch64")]
        if std::arch::is_aarch64_feature_detected!("neon") {
            v.push(Isa::Neon);
        }
        v
    }

    /// The fastest path of this CPU (detected once). `PIXELRNN_ISA=portable|avx2|avx512|neon`
    /// picks another one the CPU has (for comparisons; the bits are the same).
    pub fn detect() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| {
            let avail = Isa::available();
            let wanted = std::env::var("PIXELRNN_ISA").ok().and_then(|s| Isa::parse(&s));
            match wanted {
                Some(w) if avail.contains(&w) => w,
                _ => *avail.last().expect("portable is always there"),
            }
        })
    }

    /// The name used by `PIXELRNN_ISA` and the benchmarks.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    fn parse(s: &str) -> Option<Isa> {
        [Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Neon]
            .into_iter()
            .find(|i| i.name() == s)
    }
}

/// The arithmetic of the engine's dot products: the one version 1 and 2 files were coded with
/// (8-lane partial sums of separate products, kept bit for bit), or fused multiply-adds in
/// sequence on the given path (format version 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arith {
    Legacy,
    Fma(Isa),
}

impl Arith {
    /// Fused multiply-adds on this CPU's fastest path.
    pub fn fma() -> Arith {
        Arith::Fma(Isa::detect())
    }
}

/// `acc[p·ld + j] = fma(xs[p][i], w[i·stride + j], acc[p·ld + j])` for i = 0..k in order, for
/// every position p < `xs.len()` and output j < n: a block of outputs of one matrix (rows are
/// inputs, columns outputs) for several positions. The bits do not depend on `isa` or on how
/// the caller splits positions and outputs.
///
/// # Panics
/// If a slice is too short for `n`, `k`, `stride` and `ld`, or `isa` is not available.
#[allow(clippy::too_many_arguments)]
pub fn fma_block(isa: Isa, w: &[f32], stride: usize, n: usize, k: usize, xs: &[&[f32]], acc: &mut [f32], ld: usize) {
    if n == 0 || xs.is_empty() {
        return;
    }
    assert!(
        k == 0 || (stride >= n && w.len() >= (k - 1) * stride + n),
        "weights too short"
    );
    assert!(xs.iter().all(|x| x.len() >= k), "inputs too short");
    assert!(
        ld >= n && acc.len() >= (xs.len() - 1) * ld + n,
        "accumulators too short"
    );
    if k == 0 {
        return;
    }
    match isa {
        Isa::Portable => soft::block(w, stride, n, k, xs, acc, ld),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            assert!(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"));
            // SAFETY: features checked; bounds checked above (masked tails read nothing more).
            unsafe { x86::block2(w, stride, n, k, xs, acc, ld) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            assert!(is_x86_feature_detected!("avx512f"));
            // SAFETY: as above.
            unsafe { x86::block512(w, stride, n, k, xs, acc, ld) }
        }
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => {
            // SAFETY: NEON is part of every aarch64 target Rust supports; bounds checked above.
            unsafe { neon::block(w, stride, n, k, xs, acc, ld) }
        }
        #[allow(unreachable_patterns)]
        other => panic!("the {} kernels are not built for this CPU", other.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand_vec(n: usize, seed: &mut u64, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((*seed >> 40) as f32 / 8_388_608.0 - 1.0) * scale
            })
            .collect()
    }

    #[test]
    fn every_path_gives_the_bits_of_the_scalar_reference() {
        let mut seed = 7u64;
        let isas = Isa::available();
        eprintln!("paths: {isas:?}");
        for &(n, k, np) in &[
            (1, 1, 1),
            (3, 5, 2),
            (8, 16, 4),
            (15, 7, 5),
            (16, 64, 1),
            (17, 33, 6),
            (64, 128, 4),
            (96, 128, 9),
            (127, 3, 3),
            (128, 64, 1),
            (130, 64, 8),
            (768, 96, 2),
        ] {
            let stride = n + (n % 3);
            let w = rand_vec((k - 1) * stride + n, &mut seed, 0.5);
            let xs: Vec<Vec<f32>> = (0..np).map(|_| rand_vec(k, &mut seed, 2.0)).collect();
            let xr: Vec<&[f32]> = xs.iter().map(|x| &x[..]).collect();
            let ld = n + 3;
            let acc0 = rand_vec((np - 1) * ld + n, &mut seed, 1.0);
            let mut want = acc0.clone();
            soft::block(&w, stride, n, k, &xr, &mut want, ld);
            for &isa in &isas {
                let mut got = acc0.clone();
                fma_block(isa, &w, stride, n, k, &xr, &mut got, ld);
                let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{isa:?} differs for n={n} k={k} positions={np}");
                // One position at a time and the outputs in two parts: the same bits.
                let mut split = acc0.clone();
                for (p, x) in xr.iter().enumerate() {
                    let h = n / 2;
                    fma_block(isa, &w, stride, h, k, &[x], &mut split[p * ld..], ld);
                    fma_block(isa, &w[h..], stride, n - h, k, &[x], &mut split[p * ld + h..], ld);
                }
                assert_eq!(split, got, "{isa:?}: blocking changed the bits");
            }
        }
    }

    #[test]
    fn terms_accumulate_in_sequence_with_one_rounding_each() {
        // acc = fma(x1, w1, fma(x0, w0, acc)), by hand.
        let w = [3.0f32, 1e-8];
        let x = [1.0f32 / 3.0, 7.0];
        let mut acc = [0.1f32];
        let want = soft::fma(x[1], w[1], soft::fma(x[0], w[0], 0.1));
        for isa in Isa::available() {
            acc[0] = 0.1;
            fma_block(isa, &w, 1, 1, 2, &[&x], &mut acc, 1);
            assert_eq!(acc[0].to_bits(), want.to_bits(), "{isa:?}");
        }
        // Other lengths than the slices: k = 0 leaves acc alone.
        fma_block(Isa::Portable, &w, 1, 1, 0, &[&x], &mut acc, 1);
        assert_eq!(acc[0].to_bits(), want.to_bits());
    }

    #[test]
    fn short_slices_are_refused() {
        let r = std::panic::catch_unwind(|| {
            let mut acc = [0.0f32; 4];
            fma_block(Isa::Portable, &[1.0; 3], 4, 4, 1, &[&[1.0]], &mut acc, 4);
        });
        assert!(r.is_err());
    }
}

//! The shapes of format version 4's parametric expert: two-sided exponential (Laplace)
//! distributions over integer levels, centred between levels in eighths, tabulated once for a
//! fixed ladder of scales with arithmetic that every machine rounds alike (`+ − × ÷` and
//! `sqrt` of IEEE 754 doubles: no platform libm), so that encoder and decoder agree bit for bit.

use std::sync::OnceLock;

/// Scales on the ladder: b_j = [`B0`] · 2^(j / [`STEPS`]).
pub(crate) const SCALES: usize = 104;
/// The smallest scale (in levels).
const B0: f64 = 0.125;
/// Centre offsets between two levels (the centre is base + f / FRACS).
pub(crate) const FRACS: usize = 8;
/// Distances tabulated: level − base ∈ [−(SPAN/2 − 1), SPAN/2] (255 levels either side).
const SPAN: usize = 512;
/// Index of distance 0 in a row.
pub(crate) const MID: usize = 255;
/// A floor under every tabulated value (relative to the peak, 1), so that no level is
/// impossible.
const FLOOR: f64 = 1.0 / (1u64 << 24) as f64;

/// e^x for x ≤ 0 with basic operations only: x / 2^k, the Taylor series to the 14th power, then
/// k squarings. Relative error near 1e-14; the same bits everywhere.
pub(crate) fn exp_neg(x: f64) -> f64 {
    if x.is_nan() || x < -700.0 {
        return 0.0;
    }
    let mut k = 0;
    let mut r = x;
    while r < -0.125 {
        r *= 0.5;
        k += 1;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..=14 {
        term = term * r / n as f64;
        sum += term;
    }
    for _ in 0..k {
        sum *= sum;
    }
    sum
}

/// The tables: every scale × centre offset × distance, and running sums for normalising over
/// the levels an image has.
pub(crate) struct Shapes {
    /// [scale][frac][distance + MID], peak 1.
    tab: Vec<f32>,
    /// [scale][frac][k]: the sum of tab[..k] (SPAN + 1 entries per row).
    cum: Vec<f64>,
    /// Upper bounds of each scale's bin (geometric midpoints between ladder steps).
    bounds: Vec<f64>,
}

impl Shapes {
    fn build() -> Shapes {
        // 2^(1/16) by four square roots (correctly rounded everywhere).
        let half_step = 2f64.sqrt().sqrt().sqrt().sqrt();
        let step = half_step * half_step;
        let mut scales = Vec::with_capacity(SCALES);
        let mut b = B0;
        for _ in 0..SCALES {
            scales.push(b);
            b *= step;
        }
        let bounds = scales.iter().map(|&b| b * half_step).collect();
        let mut tab = Vec::with_capacity(SCALES * FRACS * SPAN);
        let mut cum = Vec::with_capacity(SCALES * FRACS * (SPAN + 1));
        for &b in &scales {
            for f in 0..FRACS {
                let centre = f as f64 / FRACS as f64;
                let mut s = 0.0;
                cum.push(0.0);
                for k in 0..SPAN {
                    let d = (k as f64 - MID as f64 - centre).abs();
                    let e = exp_neg(-d * 1.3862943611198906 / b);
                    let p = (4.0 * e / ((1.0 + e) * (1.0 + e)) + FLOOR) as f32;
                    tab.push(p);
                    s += p as f64;
                    cum.push(s);
                }
            }
        }
        Shapes { tab, cum, bounds }
    }

    /// The tables, built on first use.
    pub(crate) fn get() -> &'static Shapes {
        static SHAPES: OnceLock<Shapes> = OnceLock::new();
        SHAPES.get_or_init(Shapes::build)
    }

    /// The ladder's step for a mean absolute deviation `mad` (levels): the scale whose bin holds
    /// it (a Laplace distribution's scale is its mean absolute deviation).
    pub(crate) fn scale_of(&self, mad: f64) -> usize {
        self.bounds.partition_point(|&u| u < mad).min(SCALES - 1)
    }

    /// Where row (scale j, offset f) lies in [`Shapes::table`].
    pub(crate) fn row_range(j: usize, f: usize) -> std::ops::Range<usize> {
        let i = (j * FRACS + f) * SPAN;
        i..i + SPAN
    }

    /// Row (scale j, offset f): the values at distances −MID…SPAN − MID − 1.
    pub(crate) fn row(&self, j: usize, f: usize) -> &[f32] {
        &self.tab[Shapes::row_range(j, f)]
    }

    /// Every row, one after another ([`Shapes::row`]'s order).
    pub(crate) fn table(&self) -> &[f32] {
        &self.tab
    }

    /// The sum of row (j, f) over indices a..b.
    pub(crate) fn sum(&self, j: usize, f: usize, a: usize, b: usize) -> f64 {
        let i = (j * FRACS + f) * (SPAN + 1);
        self.cum[i + b] - self.cum[i + a]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_neg_is_close_to_libm() {
        for i in 0..2000 {
            let x = -(i as f64) * 0.173;
            let (a, b) = (exp_neg(x), x.exp());
            assert!((a - b).abs() <= 1e-11 * b + 1e-300, "{x}: {a} vs {b}");
        }
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(-1e9), 0.0);
        assert_eq!(exp_neg(f64::NAN), 0.0);
    }

    #[test]
    fn rows_peak_at_their_centre_and_sums_match() {
        let s = Shapes::get();
        for j in [0, 17, SCALES - 1] {
            for f in 0..FRACS {
                let r = s.row(j, f);
                let peak = if f < FRACS / 2 { MID } else { MID + 1 };
                let m = (0..SPAN).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap();
                assert_eq!(m, peak, "scale {j} offset {f}");
                let direct: f64 = r[10..300].iter().map(|&p| p as f64).sum();
                assert!((s.sum(j, f, 10, 300) - direct).abs() < 1e-9 * direct);
                assert!(r.iter().all(|&p| p > 0.0));
            }
        }
        assert_eq!(s.scale_of(0.0), 0);
        assert_eq!(s.scale_of(1e9), SCALES - 1);
        let j = s.scale_of(4.0);
        assert!(s.bounds[j] >= 4.0 && (j == 0 || s.bounds[j - 1] < 4.0));
    }
}

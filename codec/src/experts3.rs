//! Format versions 2 and 3's adaptive experts (`FORMAT.md`, "Version 2"): LOCO-I's median edge
//! detector (MED) and CALIC's gradient-adjusted predictor (GAP), each corrected by the earlier
//! channel's error and keeping residual counts per activity class, mixed with the model by the
//! Bayesian mixture of [`crate::adapt`]. Frozen: files of those versions decode with it.

use crate::adapt::{bayes, AdaptStats, Expert, EXPERTS};

/// Activity classes per channel.
const CLASSES: usize = 8;
/// Fixed share: the fraction of weight spread evenly after each update.
const SHARE: f64 = 1.0 / 4096.0;

/// Versions 2 and 3: the MED and GAP experts.
pub(crate) struct Classic {
    experts: [Expert; EXPERTS],
    /// (model, experts…) weights per mixing context.
    weights: Vec<[f64; 1 + EXPERTS]>,
    ctx: usize,
    model: Vec<f64>,
    /// Prediction errors of the current pixel's channels so far, per expert.
    errors: [[i32; 4]; EXPERTS],
    pub(crate) stats: AdaptStats,
}

/// MED (LOCO-I) of left `a`, above `b`, above-left `c` (also format version 6's context model).
#[inline]
pub(crate) fn med(a: i32, b: i32, c: i32) -> i32 {
    if c >= a.max(b) {
        a.min(b)
    } else if c <= a.min(b) {
        a.max(b)
    } else {
        a + b - c
    }
}

/// CALIC's gradient-adjusted prediction (integer form) and its activity (dh + dv).
#[inline]
#[allow(clippy::too_many_arguments)]
fn gap(w: i32, ww: i32, n: i32, nw: i32, ne: i32, nn: i32, nne: i32) -> (i32, i32) {
    let dh = (w - ww).abs() + (n - nw).abs() + (n - ne).abs();
    let dv = (w - nw).abs() + (n - nn).abs() + (ne - nne).abs();
    let p = if dv - dh > 80 {
        w
    } else if dh - dv > 80 {
        n
    } else {
        let t = 2 * (w + n) + (ne - nw); // 4 × ((W + N)/2 + (NE − NW)/4)
        let t4 = if dv - dh > 32 {
            (t + 4 * w) / 2
        } else if dv - dh > 8 {
            (3 * t + 4 * w) / 4
        } else if dh - dv > 32 {
            (t + 4 * n) / 2
        } else if dh - dv > 8 {
            (3 * t + 4 * n) / 4
        } else {
            t
        };
        t4.div_euclid(4)
    };
    (p, dh + dv)
}

/// 8 classes of a local activity (bounds 0, 2, 6, 14, 30, 62, 126).
#[inline]
fn class(activity: i32) -> usize {
    match activity {
        0 => 0,
        1..=2 => 1,
        3..=6 => 2,
        7..=14 => 3,
        15..=30 => 4,
        31..=62 => 5,
        63..=126 => 6,
        _ => 7,
    }
}

/// `out[v] = ((w₀ · P_model(v)) + w₁ · P₁(v)) + w₂ · P₂(v)` in f64, rounded to f32, for every
/// level, and the model's probabilities into `model`; in runs of levels where each expert's
/// counts are contiguous, so that the loop vectorises (compiled for AVX2 and AVX-512 too).
fn mix_levels(wt: [f64; 1 + EXPERTS], probs: &[f32], ex: &[Expert; EXPERTS], model: &mut [f64], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match pixelrnn_model::Isa::detect() {
        // SAFETY: `detect` names only paths this CPU has.
        pixelrnn_model::Isa::Avx512 => return unsafe { mix_avx512(wt, probs, ex, model, out) },
        pixelrnn_model::Isa::Avx2 => return unsafe { mix_avx2(wt, probs, ex, model, out) },
        _ => {}
    }
    mix_body(wt, probs, ex, model, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mix_avx2(wt: [f64; 1 + EXPERTS], probs: &[f32], ex: &[Expert; EXPERTS], model: &mut [f64], out: &mut [f32]) {
    mix_body(wt, probs, ex, model, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn mix_avx512(
    wt: [f64; 1 + EXPERTS],
    probs: &[f32],
    ex: &[Expert; EXPERTS],
    model: &mut [f64],
    out: &mut [f32],
) {
    mix_body(wt, probs, ex, model, out)
}

#[inline(always)]
fn mix_body(wt: [f64; 1 + EXPERTS], probs: &[f32], ex: &[Expert; EXPERTS], model: &mut [f64], out: &mut [f32]) {
    let l = model.len();
    let (p0, p1) = (ex[0].pred, ex[1].pred);
    let (c0, c1) = (ex[0].counts(), ex[1].counts());
    let (i0, i1) = (ex[0].inv, ex[1].inv);
    let cuts = [0, p0.min(p1), p0.max(p1), l];
    for s in 0..3 {
        let (a, b) = (cuts[s], cuts[s + 1]);
        if a >= b {
            continue;
        }
        let (j0, j1) = (ex[0].index(a), ex[1].index(a));
        let (e0, e1) = (&c0[j0..j0 + (b - a)], &c1[j1..j1 + (b - a)]);
        let (pm, md, o) = (&probs[a..b], &mut model[a..b], &mut out[a..b]);
        for k in 0..b - a {
            let m = pm[k] as f64;
            md[k] = m;
            let mut p = wt[0] * m;
            p += wt[1] * (e0[k] as i32 as f64 * i0);
            p += wt[2] * (e1[k] as i32 as f64 * i1);
            o[k] = p as f32;
        }
    }
}

impl Classic {
    pub(crate) fn new(channels: usize, levels: usize) -> Classic {
        let contexts = CLASSES * channels;
        Classic {
            experts: [Expert::new(contexts, levels), Expert::new(contexts, levels)],
            weights: vec![[0.8, 0.1, 0.1]; contexts],
            ctx: 0,
            model: vec![0.0; levels],
            errors: [[0; 4]; EXPERTS],
            stats: AdaptStats::default(),
        }
    }

    /// The mixed distribution of channel `c` of a pixel from the model's `probs`, into `out`;
    /// `at(dy, dx)` is the same channel's value at that offset (0 outside the image).
    pub(crate) fn mix(&mut self, c: usize, at: impl Fn(isize, isize) -> i32, probs: &[f32], out: &mut [f32]) {
        let (w, n, nw, ne) = (at(0, -1), at(-1, 0), at(-1, -1), at(-1, 1));
        let (ww, nn, nne) = (at(0, -2), at(-2, 0), at(-2, 1));
        let levels = self.model.len();
        let top = levels as i32 - 1;
        let corr = |e: usize| if c > 0 { self.errors[e][c - 1] } else { 0 };
        let med_pred = (med(w, n, nw) + corr(0)).clamp(0, top);
        let med_ctx = c * CLASSES + class((w - nw).abs() + (n - nw).abs() + (n - ne).abs());
        let (g, energy) = gap(w, ww, n, nw, ne, nn, nne);
        let gap_pred = (g + corr(1)).clamp(0, top);
        let gap_ctx = c * CLASSES + class(energy / 2);
        self.experts[0].predict(med_pred as usize, med_ctx);
        self.experts[1].predict(gap_pred as usize, gap_ctx);
        self.ctx = med_ctx;
        let wt = self.weights[self.ctx];
        mix_levels(wt, probs, &self.experts, &mut self.model, out);
    }

    pub(crate) fn update(&mut self, c: usize, v: usize) {
        let mut ps = [0f64; 1 + EXPERTS];
        ps[0] = self.model[v].max(1e-12);
        for (e, ex) in self.experts.iter().enumerate() {
            ps[1 + e] = ex.prob(v);
        }
        self.weights[self.ctx] = bayes(self.weights[self.ctx], ps, SHARE, &mut self.stats);
        for (e, ex) in self.experts.iter_mut().enumerate() {
            self.errors[e][c] = v as i32 - ex.pred as i32;
            ex.update(v);
        }
    }
}

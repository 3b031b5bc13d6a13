//! The discretized logistic-mixture head (PixelCNN++, Salimans et al. 2017) in the engine: the
//! layout of its parameters, the per-pixel mixture state and each sub-pixel's integer CDF.
//!
//! Per pixel the network gives K mixture logits and, per channel c and component k, a mean
//! `m[c][k]`, a log-scale `ls[c][k]` and one coupling coefficient per earlier channel, so that
//! channel c's mean is `μ = m[c][k] + Σ_{c'<c} tanh(a[c][c'][k]) · x̃_{c'}`. Sub-pixel values v
//! are scaled to `x̃ = 2v/(L−1) − 1`; bin v covers `[x̃ − 1/(L−1), x̃ + 1/(L−1)]`, the first and
//! last bins take the tails.
//!
//! Coding uses a CDF evaluated lazily at any level (two evaluations to encode, a binary search
//! to decode), in integers from the first f32 argument on, so that it is monotone by
//! construction and identical everywhere:
//! - each component's CDF `Q(t)` at `t = (edge − μ) · e^(−ls)` comes from a 4097-entry table of
//!   the engine's own sigmoid over t ∈ [−16, 16] in steps of 1/128 (made non-decreasing once), linearly
//!   interpolated in 24-bit fixed point;
//! - the channel's component weights are integers summing to 2^24: the softmax of the
//!   logits, then after each channel multiplied by that channel's bin mass in each component and
//!   renormalised (the exact conditional of a mixture over whole pixels);
//! - `F(v) = v + ⌊Σ_k W_k Q_k(v) · (2^24 − L) / 2^48⌋`: every level keeps a frequency ≥ 1.

use std::sync::OnceLock;

use crate::fmath::{exp, softmax, tanh};

/// Fixed-point precision of [`MixCdf::cum`] (the codec's range-coder precision).
pub const PRECISION: u32 = 24;
/// `F(levels)`: the total of every coded distribution.
pub const TOTAL: u32 = 1 << PRECISION;
/// Log-scales are clamped from below at this value (as in PixelCNN++).
pub const LOG_SCALE_MIN: f32 = -7.0;
/// Bits of the integer component weights (they sum to `1 << WEIGHT_BITS`).
const WEIGHT_BITS: u32 = 24;
/// Largest component count (the config's bound).
const MAX_K: usize = crate::config::MAX_COMPONENTS;

/// Parameters per pixel of a `channels`-channel mixture of `k` components.
pub fn params(channels: usize, k: usize) -> usize {
    k * (1 + 2 * channels + channels * (channels - 1) / 2)
}

/// Offsets of each parameter block in a pixel's parameter vector (each block holds K values,
/// component-major within the block): logits at 0, then the means of channels 0..C, the
/// log-scales of channels 0..C, then the coefficients of (c, c') for c = 1..C, c' = 0..c.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub channels: usize,
    pub k: usize,
}

impl Layout {
    pub fn logits(&self) -> usize {
        0
    }
    pub fn mean(&self, c: usize) -> usize {
        self.k * (1 + c)
    }
    pub fn log_scale(&self, c: usize) -> usize {
        self.k * (1 + self.channels + c)
    }
    /// The coefficient block of channel c on earlier channel `e` (e < c).
    pub fn coeff(&self, c: usize, e: usize) -> usize {
        self.k * (1 + 2 * self.channels + c * (c - 1) / 2 + e)
    }
}

/// Table steps per unit of t (2^STEP_BITS) and interpolation bits within a step.
const STEP_BITS: u32 = 7;
const FRAC_BITS: u32 = 24 - STEP_BITS;
/// Table entries: t ∈ [−16, 16] in steps of 2^−STEP_BITS, plus the end.
const ENTRIES: usize = (32 << STEP_BITS) + 1;

/// Q(t) · 2^24 at t = i/128 − 16, made non-decreasing; the last entry is 2^24.
fn table() -> &'static [u32; ENTRIES] {
    static T: OnceLock<Box<[u32; ENTRIES]>> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Box::new([0u32; ENTRIES]);
        let mut prev = 0u32;
        for (i, e) in t.iter_mut().enumerate().take(ENTRIES - 1) {
            let x = i as f32 / (1 << STEP_BITS) as f32 - 16.0;
            let q = (crate::fmath::sigmoid(x) * TOTAL as f32 + 0.5) as u32;
            prev = prev.max(q.min(TOTAL));
            *e = prev;
        }
        t[ENTRIES - 1] = TOTAL;
        t
    })
}

/// The logistic CDF at `t` in 24-bit fixed point: non-decreasing in t, 0 below −16 (and for
/// NaN), 2^24 from 16 up.
#[inline]
pub fn logistic_cdf(t: f32) -> u32 {
    if t.is_nan() || t <= -16.0 {
        return 0;
    }
    if t >= 16.0 {
        return TOTAL;
    }
    let u = ((t + 16.0) * 16_777_216.0) as u32; // < 2^29: FRAC_BITS fraction bits per table step
    let (i, f) = ((u >> FRAC_BITS) as usize, (u & ((1 << FRAC_BITS) - 1)) as u64);
    let tb = table();
    let (a, b) = (tb[i.min(ENTRIES - 2)], tb[(i + 1).min(ENTRIES - 1)]);
    a + (((b - a) as u64 * f) >> FRAC_BITS) as u32
}

/// Bin edges of `levels` levels: −∞, then `x̃_v − 1/(L−1)` for v = 1..L, then +∞.
pub fn edges(scale: &[f32]) -> Vec<f32> {
    let levels = scale.len();
    let half = 1.0 / (levels - 1) as f32;
    let mut e = vec![f32::NEG_INFINITY];
    e.extend(scale[1..].iter().map(|&x| x - half));
    e.push(f32::INFINITY);
    e
}

/// Integer weights summing to exactly 2^24 from nonnegative values (the remainder goes to the
/// first largest); `None` when every value is 0.
fn normalise(raw: &[u64], out: &mut [u32]) -> bool {
    let s: u64 = raw.iter().sum();
    if s == 0 {
        return false;
    }
    let one = 1u64 << WEIGHT_BITS;
    let mut total = 0u64;
    let mut best = 0;
    for (i, (&r, o)) in raw.iter().zip(out.iter_mut()).enumerate() {
        *o = ((r as u128 * one as u128) / s as u128) as u32;
        total += *o as u64;
        if r > raw[best] {
            best = i;
        }
    }
    out[best] += (one - total) as u32;
    true
}

/// The mixture of one pixel as its channels are coded: the network's parameters and the
/// component weights given the channels seen so far.
#[derive(Clone, Debug)]
pub struct PixelMixture {
    layout: Layout,
    w: [u32; MAX_K],
    /// Scaled values of the channels seen so far.
    seen: [f32; 4],
}

/// One sub-pixel's quantised distribution: components' weights, means and inverse scales.
#[derive(Clone, Debug)]
pub struct MixCdf<'a> {
    k: usize,
    w: [u32; MAX_K],
    mu: [f32; MAX_K],
    inv_s: [f32; MAX_K],
    edges: &'a [f32],
}

impl PixelMixture {
    /// The state before the pixel's first channel, from its parameters.
    pub fn new(layout: Layout, params: &[f32]) -> PixelMixture {
        let k = layout.k;
        let mut p = [0f32; MAX_K];
        softmax(&params[..k], &mut p[..k]);
        let mut raw = [0u64; MAX_K];
        for (r, &x) in raw.iter_mut().zip(&p[..k]) {
            *r = (x * (1u32 << 24) as f32) as u64;
        }
        let mut w = [0u32; MAX_K];
        if !normalise(&raw[..k], &mut w[..k]) {
            w[0] = 1 << WEIGHT_BITS;
        }
        PixelMixture {
            layout,
            w,
            seen: [0.0; 4],
        }
    }

    /// Channel `c`'s distribution (channels 0..c already observed, in order).
    pub fn channel<'a>(&self, params: &[f32], c: usize, edges: &'a [f32]) -> MixCdf<'a> {
        let l = self.layout;
        let k = l.k;
        let mut mu = [0f32; MAX_K];
        let mut inv_s = [0f32; MAX_K];
        for j in 0..k {
            let mut m = params[l.mean(c) + j];
            for e in 0..c {
                m += tanh(params[l.coeff(c, e) + j]) * self.seen[e];
            }
            mu[j] = m;
            let ls = params[l.log_scale(c) + j];
            let ls = if ls > LOG_SCALE_MIN { ls } else { LOG_SCALE_MIN };
            inv_s[j] = exp(-ls);
        }
        MixCdf {
            k,
            w: self.w,
            mu,
            inv_s,
            edges,
        }
    }

    /// Records channel `c`'s value `v` (coded with `cdf`): the weights become the posterior.
    pub fn observe(&mut self, cdf: &MixCdf, c: usize, v: usize, scaled: f32) {
        let k = self.layout.k;
        let mut raw = [0u64; MAX_K];
        for (j, r) in raw.iter_mut().enumerate().take(k) {
            let m = cdf.component(j, v + 1) - cdf.component(j, v);
            *r = self.w[j] as u64 * m as u64;
        }
        let mut w = [0u32; MAX_K];
        if normalise(&raw[..k], &mut w[..k]) {
            self.w = w;
        }
        self.seen[c] = scaled;
    }
}

impl<'a> MixCdf<'a> {
    /// The bin edges it reads (the model's, the same for every sub-pixel).
    pub fn edges(&self) -> &'a [f32] {
        self.edges
    }

    /// The same distribution reading `edges` (a copy of [`MixCdf::edges`]), to keep it beyond
    /// the borrow it came with.
    pub fn rebind<'b>(&self, edges: &'b [f32]) -> MixCdf<'b> {
        debug_assert!(edges == self.edges);
        MixCdf {
            k: self.k,
            w: self.w,
            mu: self.mu,
            inv_s: self.inv_s,
            edges,
        }
    }
}

impl MixCdf<'_> {
    /// Levels of the distribution.
    pub fn levels(&self) -> usize {
        self.edges.len() - 1
    }

    /// Component j's CDF at the lower edge of level `v` (0 at v = 0, 2^24 at v = levels).
    #[inline]
    fn component(&self, j: usize, v: usize) -> u32 {
        if v == 0 {
            0
        } else if v >= self.levels() {
            TOTAL
        } else {
            logistic_cdf((self.edges[v] - self.mu[j]) * self.inv_s[j])
        }
    }

    /// Σ_k W_k Q_k at the lower edge of level v, out of 2^48.
    #[inline]
    fn mixed(&self, v: usize) -> u64 {
        let mut s = 0u64;
        for j in 0..self.k {
            s += self.w[j] as u64 * self.component(j, v) as u64;
        }
        s
    }

    /// The quantised CDF F(v), v = 0..=levels: F(0) = 0, F(levels) = 2^24, F(v+1) > F(v).
    #[inline]
    pub fn cum(&self, v: usize) -> u32 {
        let n = self.levels();
        if v == 0 {
            return 0;
        }
        if v >= n {
            return TOTAL;
        }
        let free = (TOTAL - n as u32) as u64;
        v as u32 + ((self.mixed(v) as u128 * free as u128) >> (PRECISION + WEIGHT_BITS)) as u32
    }

    /// The level whose interval holds `q` (< 2^24), with F at its two ends; by binary search.
    pub fn find(&self, q: u32) -> (usize, u32, u32) {
        let (mut lo, mut hi) = (0usize, self.levels());
        let (mut f_lo, mut f_hi) = (0u32, TOTAL);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let f = self.cum(mid);
            if f <= q {
                (lo, f_lo) = (mid, f);
            } else {
                (hi, f_hi) = (mid, f);
            }
        }
        (lo, f_lo, f_hi)
    }

    /// The mixture's probability of level v before quantisation (for reporting the model's NLL).
    pub fn prob(&self, v: usize) -> f64 {
        let hi = if v + 1 >= self.levels() {
            (1u64 << (PRECISION + WEIGHT_BITS)) as f64
        } else {
            self.mixed(v + 1) as f64
        };
        let lo = if v == 0 { 0.0 } else { self.mixed(v) as f64 };
        (hi - lo) / (1u64 << (PRECISION + WEIGHT_BITS)) as f64
    }

    /// Every level's quantised probability, into `out` (`levels` values; for sampling).
    pub fn probs(&self, out: &mut [f32]) {
        let mut prev = 0u32;
        for (v, o) in out.iter_mut().enumerate() {
            let f = self.cum(v + 1);
            *o = (f - prev) as f32 / TOTAL as f32;
            prev = f;
        }
    }
}

#[cfg(test)]
#[path = "mixture_tests.rs"]
mod tests;

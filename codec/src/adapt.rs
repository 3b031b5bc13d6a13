//! Adaptive coding (format version 2, flag bit 3): the model's distribution mixed with an expert
//! that learns from the pixels already coded, with weights learned online, identically in the
//! encoder and the decoder.
//!
//! The expert is LOCO-I/CALIC-like: it predicts each sub-pixel with the median edge detector
//! (MED) of its west, north and north-west neighbours in the same channel, corrected by the
//! earlier channel's prediction error at the same pixel, and keeps adaptive counts of the
//! prediction residual per context (channel × 8 classes of local activity). The mixture is
//! `p(v) = w_model · P_model(v) + w_expert · P_expert(v)`, with one weight pair per context,
//! updated after every sub-pixel as a Bayesian mixture (`w_i ← w_i · P_i(v)`, normalised) with a
//! small fixed share (so it follows whichever is better in the current region). All arithmetic is
//! integer or f64 `+ − × ÷` in a fixed order (no libm), so every machine computes the same bits.
//! The result goes through the same quantiser as the softmax head's probabilities.

/// Activity classes per channel.
const CLASSES: usize = 8;
/// Count increment, and the total above which counts are halved.
const INC: u32 = 24;
const LIMIT: u32 = 1 << 16;
/// Fixed share: the fraction of weight spread evenly after each update.
const SHARE: f64 = 1.0 / 4096.0;
/// Smallest weight kept (so an expert can come back).
const FLOOR: f64 = 1e-6;

/// What each source would have cost alone, and what the mixture cost, in bits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AdaptStats {
    pub model_bits: f64,
    pub expert_bits: f64,
    pub mixed_bits: f64,
}

/// The adaptive state of one image being coded in raster order.
pub struct Adapter {
    width: usize,
    channels: usize,
    levels: usize,
    /// Sub-pixels coded so far (raster order).
    seen: Vec<u8>,
    /// Residual counts per context, `levels` each, and their totals.
    counts: Vec<u32>,
    totals: Vec<u32>,
    /// (model, expert) weights per context.
    weights: Vec<[f64; 2]>,
    /// The current sub-pixel's context, prediction and the two distributions' values.
    ctx: usize,
    pred: usize,
    expert: Vec<f64>,
    model: Vec<f64>,
    /// Prediction errors of the current pixel's channels so far.
    errors: [i32; 4],
    pub stats: AdaptStats,
}

#[inline]
fn med(a: i32, b: i32, c: i32) -> i32 {
    if c >= a.max(b) {
        a.min(b)
    } else if c <= a.min(b) {
        a.max(b)
    } else {
        a + b - c
    }
}

impl Adapter {
    pub fn new(width: usize, height: usize, channels: usize, levels: usize) -> Adapter {
        let contexts = CLASSES * channels;
        Adapter {
            width,
            channels,
            levels,
            seen: Vec::with_capacity(width * height * channels),
            counts: vec![1; contexts * levels],
            totals: vec![levels as u32; contexts],
            weights: vec![[0.9, 0.1]; contexts],
            ctx: 0,
            pred: 0,
            expert: vec![0.0; levels],
            model: vec![0.0; levels],
            errors: [0; 4],
            stats: AdaptStats::default(),
        }
    }

    /// The value of channel `c` at (y, x) relative to the current position, 0 outside the image.
    #[inline]
    fn at(&self, y: isize, x: isize, c: usize) -> i32 {
        if y < 0 || x < 0 || x >= self.width as isize {
            return 0;
        }
        let i = (y as usize * self.width + x as usize) * self.channels + c;
        self.seen.get(i).map_or(0, |&v| v as i32)
    }

    /// The mixed distribution of the next sub-pixel from the model's `probs`, into `out`.
    pub fn mix(&mut self, probs: &[f32], out: &mut [f32]) {
        let i = self.seen.len();
        let c = i % self.channels;
        let pix = i / self.channels;
        let (y, x) = ((pix / self.width) as isize, (pix % self.width) as isize);
        let (w, n, nw, ne) = (
            self.at(y, x - 1, c),
            self.at(y - 1, x, c),
            self.at(y - 1, x - 1, c),
            self.at(y - 1, x + 1, c),
        );
        let top = self.levels as i32 - 1;
        let correction = if c > 0 { self.errors[c - 1] } else { 0 };
        let pred = (med(w, n, nw) + correction).clamp(0, top);
        let activity = (w - nw).abs() + (n - nw).abs() + (n - ne).abs();
        let class = match activity {
            0 => 0,
            1..=2 => 1,
            3..=6 => 2,
            7..=14 => 3,
            15..=30 => 4,
            31..=62 => 5,
            63..=126 => 6,
            _ => 7,
        };
        self.ctx = c * CLASSES + class;
        self.pred = pred as usize;
        let l = self.levels;
        let counts = &self.counts[self.ctx * l..(self.ctx + 1) * l];
        let inv = 1.0 / self.totals[self.ctx] as f64;
        let [wm, we] = self.weights[self.ctx];
        for v in 0..l {
            let r = (v + l - self.pred) % l;
            let pe = counts[r] as f64 * inv;
            let pm = probs[v] as f64;
            self.expert[v] = pe;
            self.model[v] = pm;
            out[v] = (wm * pm + we * pe) as f32;
        }
    }

    /// Records the value `v` of the sub-pixel [`Adapter::mix`] was last called for.
    pub fn update(&mut self, v: usize) {
        let l = self.levels;
        let (pm, pe) = (self.model[v].max(1e-12), self.expert[v]);
        let [wm, we] = self.weights[self.ctx];
        let mixed = wm * pm + we * pe;
        self.stats.model_bits -= log2(pm);
        self.stats.expert_bits -= log2(pe);
        self.stats.mixed_bits -= log2(mixed.max(1e-12));
        let (nm, ne) = (wm * pm / mixed, we * pe / mixed);
        let (nm, ne) = ((1.0 - SHARE) * nm + SHARE * 0.5, (1.0 - SHARE) * ne + SHARE * 0.5);
        self.weights[self.ctx] = [nm.max(FLOOR), ne.max(FLOOR)];
        let r = (v + l - self.pred) % l;
        let base = self.ctx * l;
        self.counts[base + r] += INC;
        self.totals[self.ctx] += INC;
        if self.totals[self.ctx] > LIMIT {
            let mut t = 0;
            for k in &mut self.counts[base..base + l] {
                *k = (*k).div_ceil(2);
                t += *k;
            }
            self.totals[self.ctx] = t;
        }
        let c = self.seen.len() % self.channels;
        self.errors[c] = v as i32 - self.pred as i32;
        self.seen.push(v as u8);
    }
}

/// log2 for statistics only (never for coding): f64's own, which may differ in the last bits
/// between platforms; the coded bits do not depend on it.
fn log2(x: f64) -> f64 {
    x.log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a smooth gradient that a flat model predicts badly, the mixture learns the expert and
    /// costs far less than the model; on noise it stays close to the model.
    #[test]
    fn the_mixture_follows_the_better_source() {
        let (w, h, c) = (40, 30, 3);
        let uniform = vec![1.0 / 256.0; 256];
        let mut out = vec![0.0f32; 256];
        let mut a = Adapter::new(w, h, c, 256);
        for y in 0..h {
            for x in 0..w {
                for k in 0..c {
                    a.mix(&uniform, &mut out);
                    let s: f64 = out.iter().map(|&p| p as f64).sum();
                    assert!((s - 1.0).abs() < 1e-4);
                    a.update((x * 3 + y * 2 + k * 10) % 256);
                }
            }
        }
        let s = a.stats;
        assert!(s.mixed_bits < 0.3 * s.model_bits, "{s:?}");
        assert!(s.mixed_bits < s.expert_bits + 64.0, "{s:?}");
    }
}

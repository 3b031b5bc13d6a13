//! The sequential driver of the adaptive coding ([`Adapter`]): one image's sub-pixels in raster
//! order, each substream's rows learning in their own [`AdaptState`] (row y in state y mod S),
//! for the decoders of models without a row form and for tests and examples.

use crate::adapt::{total, AdaptState, AdaptStats};
use crate::lanes::Spread;
use crate::substreams;

/// The adaptive state of one image being coded in raster order: the pixels seen so far, and
/// what was learnt from them, kept per substream (row y learns in state y mod S, format
/// version 3; earlier versions have one) so that substreams can be decoded side by side.
pub struct Adapter {
    width: usize,
    height: usize,
    channels: usize,
    /// Sub-pixels coded so far (raster order).
    seen: Vec<u8>,
    states: Vec<AdaptState>,
    /// The state of the sub-pixel being coded.
    cur: usize,
}

impl Adapter {
    /// An adapter of format version `version` for a `width`×`height` image whose rows are
    /// spread over `substreams` states.
    pub fn new(
        version: u8,
        (width, height, channels, levels): (usize, usize, usize, usize),
        substreams: usize,
    ) -> Adapter {
        Adapter {
            width,
            height,
            channels,
            seen: Vec::with_capacity(width * height * channels),
            states: (0..substreams.max(1))
                .map(|s| {
                    let rows = substreams::rows(height, substreams.max(1), s);
                    AdaptState::new(
                        version,
                        (width, rows, Spread::raster(substreams.max(1))),
                        channels,
                        levels,
                    )
                })
                .collect(),
            cur: 0,
        }
    }

    /// The costs so far, all substreams together.
    pub fn stats(&self) -> AdaptStats {
        total(&self.states)
    }

    /// Adds version 9's phase stages to every substream's state, coded from row `from` on.
    pub fn with_phases(&mut self, from: usize) {
        let (nsub, height) = (self.states.len(), self.height);
        let states = std::mem::take(&mut self.states);
        self.states = states
            .into_iter()
            .enumerate()
            .map(|(s, st)| {
                let rows = substreams::rows(height, nsub, s);
                st.with_phases((self.width, rows, Spread::raster(nsub)), from)
            })
            .collect();
    }

    /// The mixed distribution of the next sub-pixel from the model's `probs`, into `out`.
    pub fn mix(&mut self, probs: &[f32], out: &mut [f32]) {
        let (width, channels) = (self.width, self.channels);
        let i = self.seen.len();
        let (c, pix) = (i % channels, i / channels);
        let (y, x) = (pix / width, pix % width);
        self.cur = y % self.states.len();
        let seen = &self.seen;
        let get = |j: usize| seen.get(j).copied().unwrap_or(0);
        self.states[self.cur].mix(&get, (y, x, c), probs, out);
    }

    /// The binary stage that codes what [`Adapter::mix`] gave last (version 10 on).
    pub(crate) fn tree(&self) -> Option<&crate::tree10::TreeStage> {
        self.states[self.cur].tree()
    }

    /// Records the value `v` of the sub-pixel [`Adapter::mix`] was last called for.
    pub fn update(&mut self, v: usize) {
        let c = self.seen.len() % self.channels;
        self.states[self.cur].update(c, v);
        self.seen.push(v as u8);
    }
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
        let mut a = Adapter::new(3, (w, h, c, 256), 1);
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
        let s = a.stats();
        assert!(s.mixed_bits < 0.3 * s.model_bits, "{s:?}");
        assert!(s.mixed_bits < s.expert_bits() + 64.0, "{s:?}");
    }

    /// Version 5's geometric stage codes a noisy gradient, whose model is informative but
    /// broad, in fewer bits than version 4's linear mixture alone; both distributions sum to one.
    #[test]
    fn version_5_beats_version_4_on_a_noisy_gradient() {
        let (w, h, c) = (48, 40, 1);
        let mut seed = 0x2545_f491_u32;
        let mut noise = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed % 7) as i32 - 3
        };
        let img: Vec<usize> = (0..w * h)
            .map(|i| ((i % w) as i32 * 3 + (i / w) as i32 * 2 + 20 + noise()).clamp(0, 255) as usize)
            .collect();
        let bits = |version| {
            let mut a = Adapter::new(version, (w, h, c, 256), 1);
            let mut out = vec![0.0f32; 256];
            for (i, &v) in img.iter().enumerate() {
                // A model that knows the gradient roughly: a wide bump around its mean.
                let mean = ((i % w) * 3 + (i / w) * 2 + 20) as f32;
                let probs: Vec<f32> = (0..256)
                    .map(|k| 1.0 / (1.0 + ((k as f32 - mean) / 12.0).powi(2)))
                    .collect();
                let z: f32 = probs.iter().sum();
                let probs: Vec<f32> = probs.iter().map(|p| p / z).collect();
                a.mix(&probs, &mut out);
                let s: f64 = out.iter().map(|&p| p as f64).sum();
                assert!((s - 1.0).abs() < 1e-4, "version {version}: sums to {s}");
                a.update(v);
            }
            a.stats().mixed_bits
        };
        let (v4, v5) = (bits(4), bits(5));
        assert!(v5 < 0.995 * v4, "version 5 {v5} bits, version 4 {v4}");
    }
}

//! Format version 7's context stage (`FORMAT.md`, "Version 7"): the last step of the model
//! coding's adaptive mixture. Version 6's context model (hashed neighbour colours, order-0
//! counts, logistic experts; `cm6.rs`), run over one substream's rows, gives a second
//! distribution of each sub-pixel, and a two-way mixture of it with version 5's distribution is
//! what gets coded. Photos gain where they repeat themselves exactly (flat skies, clipped
//! highlights); images that mix photographs with flat drawings, text or screenshots gain most.
//! IEEE 754 f64 `+ − × ÷` in the order written, so every machine computes the same bits.

use crate::cm6::ContextModel;
use crate::mixers6::Mixers;

/// Starting weights of version 5's distribution and of the context model's.
const START: [f64; 2] = [0.9, 0.1];
/// The share of each weight vector spread evenly after every step.
const SHARE: f64 = 1.0 / 256.0;

/// One substream's context stage.
pub(crate) struct CtxStage {
    model: ContextModel,
    mixers: Mixers<2>,
    /// The current sub-pixel's distributions: version 5's and the context model's.
    lin: Vec<f32>,
    ctx: Vec<f32>,
    /// The current weights of the two (in the context model's mixer contexts).
    w: [f64; 2],
}

impl CtxStage {
    /// For one of `substreams` substreams, coding `rows` rows of a raster `width` pixels wide of
    /// `channels` channels of `levels` levels: the context model's tables are sized by its
    /// sub-pixels, at most 2^−⌈log₂ substreams⌉ of version 6's largest (the substreams share
    /// version 6's memory).
    pub(crate) fn new((width, rows, substreams): (usize, usize, usize), channels: usize, levels: usize) -> CtxStage {
        let share = usize::BITS - (substreams.max(1) - 1).leading_zeros();
        CtxStage {
            model: ContextModel::sharing(width, rows.max(1), channels, levels, share),
            mixers: Mixers::starting(channels, START),
            lin: vec![0.0; levels],
            ctx: vec![0.0; levels],
            w: START,
        }
    }

    /// First step for sub-pixel (y, x, c): the context model's contexts, its table slots
    /// fetched towards the cache while version 5's mixture runs. `get` reads the raster by index
    /// (every sub-pixel before this one is there).
    pub(crate) fn prepare(&mut self, get: &dyn Fn(usize) -> u8, (y, x, c): (usize, usize, usize)) {
        self.model.locate(&get, x, y, c);
    }

    /// Version 5's distribution of the sub-pixel last finished.
    pub(crate) fn lin(&self) -> &[f32] {
        &self.lin
    }

    /// The levels of the distributions.
    pub(crate) fn levels(&self) -> usize {
        self.lin.len()
    }

    /// Where version 5's distribution of the prepared sub-pixel goes.
    pub(crate) fn lin_mut(&mut self) -> &mut [f32] {
        &mut self.lin
    }

    /// The coded distribution of the prepared sub-pixel into `out`, from version 5's (in
    /// [`CtxStage::lin_mut`]) and the context model's.
    pub(crate) fn finish(&mut self, out: &mut [f32]) {
        self.model.distribution(&mut self.ctx);
        self.w = self.mixers.weights(self.model.mix_contexts());
        let w = self.w;
        for ((o, &a), &b) in out.iter_mut().zip(&self.lin).zip(&self.ctx) {
            *o = (w[0] * a as f64 + w[1] * b as f64) as f32;
        }
    }

    /// [`CtxStage::prepare`] then [`CtxStage::finish`], with version 5's distribution in `out`.
    #[cfg(test)]
    fn mix(&mut self, get: &dyn Fn(usize) -> u8, (y, x, c): (usize, usize, usize), out: &mut [f32]) {
        self.prepare(get, (y, x, c));
        self.lin.copy_from_slice(out);
        self.finish(out);
    }

    /// Learns from the value `v` of the sub-pixel last finished; returns the probability the
    /// coded distribution gave it.
    pub(crate) fn update(&mut self, v: usize) -> f32 {
        let ps = [self.lin[v] as f64, self.ctx[v] as f64];
        let coded = (self.w[0] * ps[0] + self.w[1] * ps[1]) as f32;
        self.mixers.update_bayes(self.model.mix_contexts(), &ps, SHARE);
        self.model.update(v);
        coded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stage on a repeating pattern the model knows nothing of learns to trust the context
    /// model: the coded value's probability rises far above version 5's.
    #[test]
    fn the_stage_learns_to_trust_the_context_model() {
        let (w, h, levels) = (16, 16, 256);
        let px: Vec<u8> = (0..w * h).map(|i| [10u8, 200, 37][(i % w) % 3]).collect();
        let mut st = CtxStage::new((w, h, 1), 1, levels);
        let flat = vec![1.0 / levels as f32; levels];
        let mut out = vec![0.0; levels];
        let mut last = 0.0;
        for y in 0..h {
            for x in 0..w {
                out.copy_from_slice(&flat);
                st.mix(&|j| px[j], (y, x, 0), &mut out);
                let sum: f64 = out.iter().map(|&p| p as f64).sum();
                assert!((sum - 1.0).abs() < 1e-3 && out.iter().all(|&p| p > 0.0));
                let v = px[y * w + x] as usize;
                last = out[v];
                st.update(v);
            }
        }
        assert!(last > 0.9, "{last}");
    }
}

//! Format version 4's adaptive coding (`FORMAT.md`, "Version 4"): the model's
//! distribution mixed with three experts built on a prediction that starts from the blend of
//! [`crate::field`], adds CALIC's bias cancellation (the mean error of its context) and a
//! correction learnt online (NLMS) from the model's mean and the neighbourhood. Two experts are
//! logistic distributions around that prediction ([`crate::laplace`]) whose scales are the mean
//! absolute errors learnt in two kinds of context (local activity × the model's spread, and the
//! spread alone); the third keeps adaptive counts of the blend's own residual (exact on flat
//! and synthetic content, where the corrections only add noise). The mixture's weights are
//! learnt per context with tempered Bayesian updates; version 5 follows the mixture with the
//! geometric stage of [`crate::geo5`]. Version 11 shrinks each bias context's mean towards
//! its activity pair's (the texture contexts are many and see few errors each, fewer still
//! when the rows are spread over substreams) and learns the correction three times faster.
//! All arithmetic is IEEE 754 `+ − × ÷` and
//! `sqrt` in a fixed order, so encoder and decoder agree on every machine.

use crate::adapt::{costs, AdaptStats, Expert};
use crate::field::{Field, FEATS};
use crate::geo5::{Geo, Inputs};
use crate::kernels4::{self, Run};
use crate::laplace::{Shapes, FRACS, MID};
use crate::predictors::UNIT;

/// Activity contexts per channel (half-octaves of the blend's local error).
const Q: usize = 28;
/// Spread contexts (half-octaves of 8 × the model's standard deviation).
const SD: usize = 20;
/// Sign patterns of the neighbourhood around the blend ([`crate::field::Prediction::texture`]).
const TEXTURES: usize = 128;
/// Counts at which the bias and the scale statistics are halved.
const BIAS_LIMIT: f64 = 128.0;
/// Version 11: the count at which an activity pair's mean error (over every texture) is
/// halved, and the weight in counts of that mean in each texture's bias.
const COARSE_LIMIT: f64 = 256.0;
const SHRINK: f64 = 256.0;
const MAD_LIMIT: f64 = 64.0;
/// The mixer's fixed share (spread evenly after each update) and smallest weight.
const SHARE: f64 = 1.0 / 512.0;
const FLOOR: f64 = 1e-6;
/// Sources: the model, the two logistic experts, the counts.
const SOURCES: usize = 4;
/// The correction's learning rate (version 11's) and regulariser, and its starting weights
/// (15 % of the way to the model's mean).
const NLMS_RATE: f64 = 0.01;
const NLMS_RATE_11: f64 = 0.03;
const NLMS_DELTA: f64 = 64.0;
const THETA0: [f64; 1 + FEATS] = {
    let mut t = [0.0; 1 + FEATS];
    t[0] = 0.15;
    t
};

/// The context of a non-negative quantity: ⌊2 log₂(1 + a)⌋ (half-octaves), capped at `cap`.
pub(crate) fn bucket(a: f64, cap: usize) -> usize {
    let t = (a as u32).saturating_add(1);
    let l = t.ilog2();
    let half = (2 * t >= 3 << l) as u32;
    ((2 * l + half) as usize).min(cap - 1)
}

/// A running mean whose sum and count are halved when the count reaches a limit.
#[derive(Clone, Copy, Debug)]
struct Mean {
    sum: f64,
    n: f64,
}

impl Mean {
    fn get(&self) -> f64 {
        if self.n > 0.0 {
            self.sum / self.n
        } else {
            0.0
        }
    }

    fn add(&mut self, x: f64, limit: f64) {
        self.sum += x;
        self.n += 1.0;
        if self.n >= limit {
            self.sum *= 0.5;
            self.n *= 0.5;
        }
    }
}

/// A logistic expert for the sub-pixel being coded: its ladder step and 1 / its sum over the
/// levels.
#[derive(Clone, Copy, Default)]
struct Logistic {
    scale: usize,
    inv: f64,
}

/// One substream's adaptive state (format versions 4 and 5).
pub(crate) struct State4 {
    field: Field,
    shapes: &'static Shapes,
    levels: usize,
    /// Per (channel, activity pair, texture): the blend's mean error (quarters).
    bias: Vec<Mean>,
    /// Version 11: per (channel, activity pair), the blend's mean error over every texture,
    /// which each texture's bias shrinks towards (empty before version 11).
    coarse: Vec<Mean>,
    /// The correction's learning rate.
    rate: f64,
    /// Per (channel, activity pair): the correction's weights.
    theta: Vec<[f64; 1 + FEATS]>,
    /// Mean absolute errors (levels) per (channel, activity, spread) and per (channel, spread).
    mad: Vec<Mean>,
    mad2: Vec<Mean>,
    counts: Expert,
    /// Per (channel, activity): the sources' weights.
    weights: Vec<[f64; SOURCES]>,
    cur: Current,
    model: Vec<f64>,
    stats: AdaptStats,
    /// Version 5's geometric stage.
    geo: Option<Geo>,
}

/// What [`State4::mix`] worked out for [`State4::update`].
#[derive(Clone, Copy, Default)]
struct Current {
    /// Contexts: activity, bias, scale (activity × spread), spread.
    ctx: usize,
    bctx: usize,
    sctx: usize,
    spread: usize,
    /// The blend, and the final prediction (quarters).
    blend: f64,
    p: f64,
    feats: [f64; 1 + FEATS],
    /// The logistic rows' centre offset and first index.
    frac: usize,
    first: usize,
    experts: [Logistic; 2],
}

impl State4 {
    /// Format version `version` (4, or 5 with the geometric stage, or 11 with the bias shrunk
    /// towards its activity pair's), its field keeping `ring` rows ([`Field::new`]).
    pub(crate) fn new(version: u8, (width, ring): (usize, usize), channels: usize, levels: usize) -> State4 {
        let contexts = Q * channels;
        // A starting scale per context: the activity sums ~8 neighbours' errors in quarters
        // (≈ 1/32 of it per level); the spread's context is 8 × the model's deviation.
        let mad = (0..contexts * SD)
            .map(|k| Mean {
                sum: 0.25 + f64::from(1u32 << (k / SD % Q / 2)) / 32.0,
                n: 1.0,
            })
            .collect();
        let mad2 = (0..channels * SD)
            .map(|k| Mean {
                sum: 0.25 + (k % SD) as f64 / 4.0,
                n: 1.0,
            })
            .collect();
        State4 {
            field: Field::new(width, channels, levels, ring),
            shapes: Shapes::get(),
            levels,
            bias: vec![Mean { sum: 0.0, n: 0.0 }; contexts / 2 * TEXTURES],
            coarse: vec![Mean { sum: 0.0, n: 0.0 }; if version >= 11 { contexts / 2 } else { 0 }],
            rate: if version >= 11 { NLMS_RATE_11 } else { NLMS_RATE },
            theta: vec![THETA0; contexts / 2],
            mad,
            mad2,
            counts: Expert::new(contexts, levels),
            weights: vec![[0.55, 0.15, 0.15, 0.15]; contexts],
            cur: Current::default(),
            model: vec![0.0; levels],
            stats: AdaptStats::default(),
            geo: (version >= 5).then(|| Geo::new(channels * SD, levels)),
        }
    }

    pub(crate) fn stats(&self) -> AdaptStats {
        self.stats
    }

    /// The bias of context `bctx` (its activity pair `pair`): its mean error, or from version
    /// 11 on (SHRINK · the pair's mean + its errors' sum) / (SHRINK + its count).
    fn bias(&self, bctx: usize, pair: usize) -> f64 {
        let b = &self.bias[bctx];
        match self.coarse.get(pair) {
            Some(c) => (b.sum + SHRINK * c.get()) / (b.n + SHRINK),
            None => b.get(),
        }
    }

    /// A logistic expert of mean absolute error `mad` around the current prediction.
    fn logistic(&self, mad: f64) -> Logistic {
        let scale = self.shapes.scale_of(mad);
        let (f, a) = (self.cur.frac, self.cur.first);
        Logistic {
            scale,
            inv: 1.0 / self.shapes.sum(scale, f, a, a + self.levels),
        }
    }

    /// The mixed distribution of (y, x, c) from the model's `probs`, into `out`; `get` reads
    /// the raster (every sub-pixel before this one is there).
    pub(crate) fn mix(
        &mut self,
        get: &dyn Fn(usize) -> u8,
        (y, x, c): (usize, usize, usize),
        probs: &[f32],
        out: &mut [f32],
    ) {
        let pred = self.field.predict(get, y, x, c);
        let ctx = c * Q + bucket(pred.activity, Q);
        let bctx = ctx / 2 * TEXTURES + pred.texture;
        let top = ((self.levels - 1) as i32 * UNIT) as f64;
        let p0 = (pred.blend + self.bias(bctx, ctx / 2)).clamp(0.0, top);
        // The model's mean joins the correction's inputs; its spread picks the scales' contexts.
        let (m1, m2) = kernels4::moments(probs);
        let spread = bucket(8.0 * (m2 - m1 * m1).max(0.0).sqrt(), SD);
        let mut feats = [0.0; 1 + FEATS];
        feats[0] = UNIT as f64 * m1 - p0;
        feats[1..].copy_from_slice(&pred.feats);
        let th = &self.theta[ctx / 2];
        let mut corr = 0.0;
        for i in 0..1 + FEATS {
            corr += th[i] * feats[i];
        }
        let p = (p0 + corr).clamp(0.0, top);
        let pv = p / UNIT as f64;
        let base = pv as usize;
        self.cur = Current {
            ctx,
            bctx,
            sctx: ctx * SD + spread,
            spread: c * SD + spread,
            blend: pred.blend,
            p,
            feats,
            frac: ((pv - base as f64) * FRACS as f64) as usize,
            first: MID - base,
            experts: [Logistic::default(); 2],
        };
        self.cur.experts = [
            self.logistic(self.mad[self.cur.sctx].get()),
            self.logistic(self.mad2[self.cur.spread].get()),
        ];
        self.counts.predict((pred.blend / UNIT as f64 + 0.5) as usize, ctx);
        let l = self.levels;
        let (f, first) = (self.cur.frac, self.cur.first);
        let [e1, e2] = self.cur.experts;
        let rows = [
            &self.shapes.row(e1.scale, f)[first..first + l],
            &self.shapes.row(e2.scale, f)[first..first + l],
        ];
        let counts = self.counts.counts();
        let (hp, inv) = (self.counts.pred, [e1.inv, e2.inv, self.counts.inv]);
        let wt = self.weights[ctx];
        // Level v's residual count is at (v − hp) mod l: two runs, each contiguous.
        for (a, b, h0) in [(0, hp, l - hp), (hp, l, 0)] {
            let run = Run {
                probs: &probs[a..b],
                rows: [&rows[0][a..b], &rows[1][a..b]],
                counts: &counts[h0..h0 + (b - a)],
                model: &mut self.model[a..b],
                out: &mut out[a..b],
            };
            kernels4::mix(wt, inv, run);
        }
        if let Some(geo) = &mut self.geo {
            let inputs = Inputs {
                probs,
                scales: [e1.scale, e2.scale],
                frac: f,
                first,
                counts,
                hp,
            };
            geo.mix(self.cur.spread, inputs, out);
        }
    }

    /// Records the value `v` of the sub-pixel [`State4::mix`] was last called for.
    pub(crate) fn update(&mut self, v: usize) {
        let cur = self.cur;
        let expert = |e: Logistic| self.shapes.row(e.scale, cur.frac)[cur.first + v] as f64 * e.inv;
        let ps = [
            self.model[v].max(1e-12),
            expert(cur.experts[0]),
            expert(cur.experts[1]),
            self.counts.prob(v),
        ];
        // The costs, then the tempered step: each weight times the fourth root of its source's
        // likelihood ratio, normalised, with a fixed share.
        let mut wt = self.weights[cur.ctx];
        let mixed = costs(wt, ps, &mut self.stats);
        let coded = match &mut self.geo {
            Some(geo) => geo.update(v),
            None => mixed,
        };
        self.stats.coded(coded);
        let mut sum = 0.0;
        for k in 0..SOURCES {
            wt[k] *= (ps[k] / mixed).sqrt().sqrt();
            sum += wt[k];
        }
        for w in &mut wt {
            *w = ((1.0 - SHARE) * (*w / sum) + SHARE / SOURCES as f64).max(FLOOR);
        }
        self.weights[cur.ctx] = wt;
        let vq = (v as i32 * UNIT) as f64;
        // The bias sees the blend's own error, the scales the final prediction's.
        self.bias[cur.bctx].add(vq - cur.blend, BIAS_LIMIT);
        if let Some(c) = self.coarse.get_mut(cur.ctx / 2) {
            c.add(vq - cur.blend, COARSE_LIMIT);
        }
        let abs = (vq - cur.p).abs() / UNIT as f64;
        self.mad2[cur.spread].add(abs, MAD_LIMIT);
        self.mad[cur.sctx].add(abs, MAD_LIMIT);
        self.counts.update(v);
        // The correction's NLMS step.
        let e = vq - cur.p;
        let mut power = NLMS_DELTA;
        for x in cur.feats {
            power += x * x;
        }
        let g = self.rate * e / power;
        let th = &mut self.theta[cur.ctx / 2];
        for (t, &f) in th.iter_mut().zip(&cur.feats) {
            *t += g * f;
        }
    }
}

#[cfg(test)]
#[path = "adapt4_tests.rs"]
mod tests;

//! Format version 4's adaptive coding: the model's distribution mixed with two experts built on
//! the blended prediction of [`crate::field`] — a Laplace distribution around it whose scale is
//! the mean absolute error learnt in its activity context ([`crate::laplace`]), and adaptive
//! counts of its residual in the same context — after CALIC's bias cancellation (the mean error
//! of the context added to the prediction). Weights are learnt online per context as in
//! version 2 ([`crate::adapt`]); every operation is `+ − × ÷` in a fixed order.

use crate::adapt::{bayes, AdaptStats, Expert};
use crate::field::{Field, FEATS, UNIT};
use crate::kernels4::{self, Run};
use crate::laplace::{Shapes, MID};

/// Activity contexts per channel (half-octaves of the blend's local error).
const Q: usize = 28;
/// Contexts of the model's spread (half-octaves of 8 × its standard deviation).
const SD: usize = 20;
/// Counts after which the bias and the scale statistics are halved.
const BIAS_LIMIT: f64 = 128.0;
const MAD_LIMIT: f64 = 64.0;
/// The mixer's fixed share.
const SHARE: f64 = 1.0 / 64.0;
/// The correction's learning rate and regulariser, and its starting weights (a third of the
/// way to the model's mean).
const NLMS_RATE: f64 = 0.01;
const NLMS_DELTA: f64 = 64.0;
const THETA0: [f64; 1 + FEATS] = {
    let mut t = [0.0; 1 + FEATS];
    t[0] = 0.3;
    t
};

/// The activity context of a weighted error sum (quarters): ⌊2 log₂(1 + a)⌋, capped.
fn bucket(a: f64) -> usize {
    let t = a as u32 + 1;
    let l = t.ilog2();
    let half = (2 * t >= 3 << l) as u32;
    ((2 * l + half) as usize).min(Q - 1)
}

/// One substream's adaptive state (format version 4).
pub(crate) struct State4 {
    field: Field,
    shapes: &'static Shapes,
    levels: usize,
    /// Per context: (sum of the blend's errors, count) in quarters.
    bias: Vec<[f64; 2]>,
    /// Per context: (sum of absolute errors in levels, count).
    mad: Vec<[f64; 2]>,
    hist: Expert,
    /// (model, Laplace, counts) weights per context.
    weights: Vec<[f64; 4]>,
    mad2: Vec<[f64; 2]>,
    m2ctx: usize,
    lap2: (usize, f64),
    ctx: usize,
    bctx: usize,
    sctx: usize,
    /// Per channel: the correction's weights.
    theta: Vec<[f64; 1 + FEATS]>,
    /// The correction's inputs for the sub-pixel being coded, and its channel.
    feats: [f64; 1 + FEATS],
    c: usize,
    /// The blend (quarters) and the prediction after the bias correction.
    blend: f64,
    p: f64,
    /// The Laplace row's scale, offset, first index and 1 / its sum over the levels.
    lap: (usize, usize, usize, f64),
    model: Vec<f64>,
    stats: AdaptStats,
}

impl State4 {
    pub(crate) fn new(width: usize, channels: usize, levels: usize) -> State4 {
        let contexts = Q * channels;
        let mad = (0..contexts * SD)
            .map(|k| {
                let q = (k / SD % Q) as i32;
                // The activity sums ~8 neighbours' errors in quarters: ~1/32 of it per level.
                [0.25 + f64::from(1u32 << (q / 2)) / 32.0, 1.0]
            })
            .collect();
        State4 {
            field: Field::new(width, channels, levels),
            shapes: Shapes::get(),
            levels,
            bias: vec![[0.0, 0.0]; contexts * 128],

            mad,
            hist: Expert::new(contexts, levels),
            weights: vec![[0.55, 0.15, 0.15, 0.15]; contexts],
            mad2: (0..channels * SD).map(|k| [0.25 + (k % SD) as f64 / 4.0, 1.0]).collect(),
            m2ctx: 0,
            lap2: (0, 0.0),
            ctx: 0,
            bctx: 0,
            sctx: 0,
            theta: vec![THETA0; contexts],
            feats: [0.0; 1 + FEATS],
            c: 0,
            blend: 0.0,
            p: 0.0,
            lap: (0, 0, 0, 0.0),
            model: vec![0.0; levels],
            stats: AdaptStats::default(),
        }
    }

    pub(crate) fn stats(&self) -> AdaptStats {
        self.stats
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
        let ctx = c * Q + bucket(pred.activity);
        let bctx = (ctx / 2) * 128 + pred.texture;
        let [bs, bn] = self.bias[bctx];
        let top = ((self.levels - 1) as i32 * UNIT) as f64;
        let p0 = (pred.blend + if bn > 0.0 { bs / bn } else { 0.0 }).clamp(0.0, top);
        // The model's mean and spread: the prediction moves towards the mean by a factor
        // learnt per context, and the spread picks the scale's context.
        let (m1, m2) = kernels4::moments(probs);
        let sd = (m2 - m1 * m1).max(0.0).sqrt();
        let sctx = ctx * SD + bucket(8.0 * sd).min(SD - 1);
        self.m2ctx = c * SD + bucket(8.0 * sd).min(SD - 1);
        // The learnt correction: weights on the model's mean and the neighbourhood (NLMS).
        let mut f = [0.0; 1 + FEATS];
        f[0] = UNIT as f64 * m1 - p0;
        f[1..].copy_from_slice(&pred.feats);
        let th = &self.theta[ctx / 2];
        let mut corr = 0.0;
        for i in 0..1 + FEATS {
            corr += th[i] * f[i];
        }
        let p = (p0 + corr).clamp(0.0, top);
        self.feats = f;
        let pv = p / UNIT as f64;
        let base = pv as usize;
        let f = ((pv - base as f64) * crate::laplace::FRACS as f64) as usize;
        let [a, n] = self.mad[sctx];
        let j = self.shapes.scale_of(a / n);
        let first = MID - base;
        let inv = 1.0 / self.shapes.sum(j, f, first, first + self.levels);
        self.lap = (j, f, first, inv);
        self.hist.predict((pv + 0.5) as usize, ctx);
        (self.ctx, self.bctx, self.sctx, self.blend, self.p, self.c) = (ctx, bctx, sctx, pred.blend, p, c);
        let wt = self.weights[ctx];
        let row = &self.shapes.row(j, f)[first..first + self.levels];
        let counts = self.hist.counts();
        let (hp, hinv) = (self.hist.pred, self.hist.inv);
        let l = self.levels;
        let _ = (counts, hp, hinv, Run { probs, row, counts, model: &mut [], out: &mut [] });
        let [a2, n2] = self.mad2[self.m2ctx];
        let j2 = self.shapes.scale_of(a2 / n2);
        let inv2 = 1.0 / self.shapes.sum(j2, f, first, first + self.levels);
        self.lap2 = (j2, inv2);
        let row2 = &self.shapes.row(j2, f)[first..first + self.levels];
        for v in 0..l {
            let m = probs[v] as f64;
            self.model[v] = m;
            let h = counts[(v + l - hp) % l] as f64 * hinv;
            out[v] = (((wt[0] * m + wt[1] * (row[v] as f64 * inv)) + wt[2] * (row2[v] as f64 * inv2)) + wt[3] * h) as f32;
        }
    }

    /// Records the value `v` of the sub-pixel [`State4::mix`] was last called for.
    pub(crate) fn update(&mut self, v: usize) {
        let (j, f, first, inv) = self.lap;
        let ps = [
            self.model[v].max(1e-12),
            self.shapes.row(j, f)[first + v] as f64 * inv,
            self.shapes.row(self.lap2.0, f)[first + v] as f64 * self.lap2.1,
            self.hist.prob(v),
        ];
        let ctx = self.ctx;
        let mut wt = self.weights[ctx];
        let _ = bayes(wt, ps, SHARE, &mut self.stats);
        let mut mixed = 0.0;
        for k in 0..4 {
            mixed += wt[k] * ps[k];
        }
        let mut sum = 0.0;
        for k in 0..4 {
            wt[k] *= (ps[k] / mixed).sqrt().sqrt();
            sum += wt[k];
        }
        for w in &mut wt {
            *w = ((1.0 - SHARE) * (*w / sum) + SHARE / 4.0).max(1e-6);
        }
        self.weights[ctx] = wt;
        let vq = (v as i32 * UNIT) as f64;
        let p = self.p;
        let b = &mut self.bias[self.bctx];
        // The bias statistics see the blend's own error (before the correction).
        b[0] += vq - self.blend;
        b[1] += 1.0;
        if b[1] >= BIAS_LIMIT {
            b[0] *= 0.5;
            b[1] *= 0.5;
        }
        let m = &mut self.mad2[self.m2ctx];
        m[0] += (vq - p).abs() / UNIT as f64;
        m[1] += 1.0;
        if m[1] >= MAD_LIMIT {
            m[0] *= 0.5;
            m[1] *= 0.5;
        }
        let m = &mut self.mad[self.sctx];
        m[0] += (vq - p).abs() / UNIT as f64;
        m[1] += 1.0;
        if m[1] >= MAD_LIMIT {
            m[0] *= 0.5;
            m[1] *= 0.5;
        }
        self.hist.update(v);
        // NLMS step for the correction's weights.
        let f = self.feats;
        let e = vq - p;
        let mut power = NLMS_DELTA;
        for x in f {
            power += x * x;
        }
        let g = NLMS_RATE * e / power;
        let th = &mut self.theta[self.ctx / 2];
        for i in 0..1 + FEATS {
            th[i] += g * f[i];
        }
    }
}

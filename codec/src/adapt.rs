//! Adaptive coding (flag bit 3 of formats 2 to 4): the model's distribution mixed with experts
//! that learn from the pixels already coded, with weights learnt online, identically in the
//! encoder and the decoder. This module holds what the versions share — the residual counts of
//! an expert (`Expert`), the Bayesian mixture's step (`bayes`), the per-substream state
//! ([`AdaptState`], which dispatches on the version; the sequential driver over them is
//! `adapter.rs`); the experts themselves are version 2–3's MED and GAP (`experts3.rs`) and
//! version 4's blended prediction with logistic experts (`adapt4.rs`, which in version 5 adds
//! the geometric stage of `geo5.rs`), followed in version 7 by the context stage of `ctx7.rs`
//! (in version 9 per pixel phase where the file says so, `phase9.rs`). All arithmetic is
//! integer or IEEE 754 f64 in a fixed order (no libm), so every machine computes the same bits;
//! the result goes through the same quantiser as the softmax head's probabilities, or from
//! version 10 on through the binary stage of `tree10.rs`, which codes it.

use crate::adapt4::State4;
use crate::ctx7::CtxStage;
use crate::experts3::Classic;
use crate::lanes::Spread;
use crate::phase9::Phases;
use crate::tree10::TreeStage;

/// Experts.
pub(crate) const EXPERTS: usize = 2;
/// Count increment, and the total above which counts are halved.
const INC: u32 = 24;
const LIMIT: u32 = 1 << 16;
/// The largest count an expert can hold.
pub(crate) const COUNT_MAX: u32 = LIMIT + INC;
/// Smallest weight kept (so a source can come back).
const FLOOR: f64 = 1e-6;

/// What each source would have cost alone, and what the mixture cost, in bits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AdaptStats {
    pub model_bits: f64,
    pub mixed_bits: f64,
    /// Each expert's cost alone: MED and GAP (versions 2 and 3), the two logistic experts
    /// (version 4).
    pub experts_bits: [f64; EXPERTS],
}

impl AdaptStats {
    /// Adds the cost of a value the coded distribution gave probability `p`.
    pub(crate) fn coded(&mut self, p: f64) {
        self.mixed_bits -= log2(p.max(1e-12));
    }

    /// The better expert's cost alone (of the two above).
    pub fn expert_bits(&self) -> f64 {
        self.experts_bits.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// One expert's residual statistics and its current prediction.
pub(crate) struct Expert {
    counts: Vec<u32>,
    totals: Vec<u32>,
    levels: usize,
    ctx: usize,
    pub(crate) pred: usize,
    /// 1 / the current context's total.
    pub(crate) inv: f64,
}

impl Expert {
    pub(crate) fn new(contexts: usize, levels: usize) -> Expert {
        Expert {
            counts: vec![1; contexts * levels],
            totals: vec![levels as u32; contexts],
            levels,
            ctx: 0,
            pred: 0,
            inv: 0.0,
        }
    }

    /// Sets the prediction and context.
    pub(crate) fn predict(&mut self, pred: usize, ctx: usize) {
        (self.pred, self.ctx) = (pred, ctx);
        self.inv = 1.0 / self.totals[ctx] as f64;
    }

    /// The current context's counts (level v's at [`Expert::index`]).
    pub(crate) fn counts(&self) -> &[u32] {
        let l = self.levels;
        &self.counts[self.ctx * l..(self.ctx + 1) * l]
    }

    /// Where level `v`'s residual count is: (v − pred) mod levels.
    pub(crate) fn index(&self, v: usize) -> usize {
        (v + self.levels - self.pred) % self.levels
    }

    /// The probability of level `v`: its residual's count over the context's total.
    pub(crate) fn prob(&self, v: usize) -> f64 {
        self.counts()[self.index(v)] as i32 as f64 * self.inv
    }

    pub(crate) fn update(&mut self, v: usize) {
        let l = self.levels;
        let r = self.index(v);
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
    }
}

/// What one substream's rows have taught the experts and the mixer. [`crate::adapter::Adapter`]
/// keeps one per substream for a sequential coder; a decoder of rows side by side drives them
/// itself.
/// Format versions 2 and 3 use the MED and GAP experts below, versions 4 and 5 the blended
/// prediction of `adapt4.rs`.
pub struct AdaptState {
    width: usize,
    channels: usize,
    inner: Inner,
    /// Version 7's context stage, after the rest (dropped once the phase stages code alone).
    stage: Option<Box<CtxStage>>,
    /// Version 9's stages per pixel phase ([`AdaptState::with_phases`]).
    phases: Option<Box<Phases>>,
    /// Whether a context stage runs: the coded distributions' cost is then `staged_bits` (the
    /// inner stats' is the distribution before it).
    staged: bool,
    staged_bits: AdaptStats,
    /// Version 10's binary stage, which codes the final distribution, and what it has cost.
    tree: Option<Box<TreeStage>>,
    tree_bits: AdaptStats,
}

enum Inner {
    Classic(Box<Classic>),
    Blend(Box<State4>),
}

/// The mixture's probability of the value just coded, from the sources' probabilities `ps` of
/// it (the model's first) and their weights; each source's cost is added to `stats` (the
/// mixture's with [`AdaptStats::coded`]).
pub(crate) fn costs<const N: usize>(wt: [f64; N], ps: [f64; N], stats: &mut AdaptStats) -> f64 {
    let mut mixed = 0.0;
    for k in 0..N {
        mixed += wt[k] * ps[k];
    }
    stats.model_bits -= log2(ps[0]);
    for e in 0..EXPERTS.min(N - 1) {
        stats.experts_bits[e] -= log2(ps[1 + e]);
    }
    mixed
}

/// The Bayesian mixture's step ([`costs`] recorded): the next weights (`share`: the fraction
/// spread evenly).
pub(crate) fn bayes<const N: usize>(wt: [f64; N], ps: [f64; N], share: f64, stats: &mut AdaptStats) -> [f64; N] {
    let mixed = costs(wt, ps, stats);
    stats.coded(mixed);
    let even = share / N as f64;
    let mut next = [0f64; N];
    for k in 0..N {
        next[k] = ((1.0 - share) * (wt[k] * ps[k] / mixed) + even).max(FLOOR);
    }
    next
}

impl AdaptState {
    /// A fresh state of format version `version` for one substream of `spread`, coding `rows`
    /// rows of a raster `width` pixels wide of `channels` channels of `levels` levels.
    pub fn new(
        version: u8,
        (width, rows, spread): (usize, usize, Spread),
        channels: usize,
        levels: usize,
    ) -> AdaptState {
        // The blend's field keeps the span of a substream's rows in step and the two above.
        let ring = (spread.lanes - 1) * spread.substreams + 3;
        let inner = if version >= 4 {
            Inner::Blend(Box::new(State4::new(version, (width, ring), channels, levels)))
        } else {
            Inner::Classic(Box::new(Classic::new(channels, levels)))
        };
        let stage = (version >= 7).then(|| Box::new(CtxStage::new((width, rows, spread.substreams), channels, levels)));
        AdaptState {
            width,
            channels,
            inner,
            staged: stage.is_some(),
            stage,
            phases: None,
            staged_bits: AdaptStats::default(),
            tree: (version >= 10).then(|| Box::new(TreeStage::new(channels, levels))),
            tree_bits: AdaptStats::default(),
        }
    }

    /// Adds version 9's phase stages, coded from row `from` on ([`crate::phase_row`]; the
    /// decoder of a file with the phase flag, and the encoder until `AdaptState::settle`).
    /// `geometry` as [`AdaptState::new`]'s.
    pub fn with_phases(mut self, geometry: (usize, usize, Spread), from: usize) -> AdaptState {
        if let Some(levels) = self.stage.as_ref().map(|s| s.levels()) {
            self.phases = Some(Box::new(Phases::new(geometry, self.channels, levels, from)));
        }
        self
    }

    /// What version 7's stage and the phase stages cost in the second half of the rows before
    /// the phase row, in bits (None without phase stages).
    pub(crate) fn phase_bits(&self) -> Option<[f64; 2]> {
        self.phases.as_ref().map(|p| p.bits)
    }

    /// The encoder's side: the phase stages' costs are measured for [`AdaptState::phase_bits`].
    pub(crate) fn measuring_phases(mut self) -> AdaptState {
        if let Some(p) = &mut self.phases {
            p.measuring = true;
        }
        self
    }

    /// The encoder's choice at the phase row: the phase stages, or version 7's stage alone.
    pub(crate) fn settle(&mut self, phases: bool) {
        if !phases {
            self.phases = None;
        }
    }

    /// What the sources have cost so far.
    pub fn stats(&self) -> AdaptStats {
        let mut stats = match &self.inner {
            Inner::Classic(s) => s.stats,
            Inner::Blend(s) => s.stats(),
        };
        if self.staged {
            stats.mixed_bits = self.staged_bits.mixed_bits;
        }
        if self.tree.is_some() {
            stats.mixed_bits = self.tree_bits.mixed_bits;
        }
        stats
    }

    /// The mixed distribution of sub-pixel (y, x, c) from the model's `probs`, into `out`;
    /// `get` reads the raster by index, every sub-pixel before this one being there.
    pub fn mix(&mut self, get: &dyn Fn(usize) -> u8, (y, x, c): (usize, usize, usize), probs: &[f32], out: &mut [f32]) {
        let phased = match &mut self.phases {
            Some(p) => p.at(y, x),
            None => false,
        };
        if phased && self.stage.is_some() {
            // Past the phase row version 7's stage is never used again.
            self.stage = None;
        }
        let lin = match (&mut self.stage, &mut self.phases) {
            (_, Some(p)) if phased => {
                let stage = p.stage();
                stage.prepare(get, (y, x, c));
                stage.lin_mut()
            }
            (Some(stage), _) => {
                stage.prepare(get, (y, x, c));
                stage.lin_mut()
            }
            _ => &mut *out,
        };
        match &mut self.inner {
            Inner::Classic(s) => {
                let geometry = (self.width, self.channels);
                let at = |dy, dx| neighbour(|j| Some(get(j)), geometry, (y, x, c), (dy, dx));
                s.mix(c, at, probs, lin)
            }
            Inner::Blend(s) => s.mix(get, (y, x, c), probs, lin),
        }
        match (&mut self.stage, &mut self.phases) {
            (_, Some(p)) if phased => p.stage().finish(out),
            (Some(stage), phases) => {
                stage.finish(out);
                if let Some(p) = phases {
                    p.shadow(get, (y, x, c), stage.lin());
                }
            }
            _ => {}
        }
        if let Some(t) = &mut self.tree {
            t.prepare(out, c);
        }
    }

    /// Version 10's binary stage, holding the distribution [`AdaptState::mix`] gave last: what
    /// the range coder codes it with (None before version 10: `out` quantised as in version 1).
    pub(crate) fn tree(&self) -> Option<&TreeStage> {
        self.tree.as_deref()
    }

    /// Records the value `v` of channel `c`, the sub-pixel [`AdaptState::mix`] was last called
    /// for.
    pub fn update(&mut self, c: usize, v: usize) {
        if let Some(t) = &mut self.tree {
            self.tree_bits.coded(t.update(v));
        }
        match &mut self.inner {
            Inner::Classic(s) => s.update(c, v),
            Inner::Blend(s) => s.update(v),
        }
        match (&mut self.stage, &mut self.phases) {
            (_, Some(p)) if p.coding => {
                let q = p.update(v);
                self.staged_bits.coded(q as f64);
            }
            (Some(stage), phases) => {
                let q = stage.update(v);
                self.staged_bits.coded(q as f64);
                if let Some(p) = phases {
                    let r = p.update(v);
                    if p.counted {
                        p.bits[0] -= log2((q as f64).max(1e-12));
                        p.bits[1] -= log2((r as f64).max(1e-12));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The costs so far of `states`, all substreams together.
pub(crate) fn total(states: &[AdaptState]) -> AdaptStats {
    let mut t = AdaptStats::default();
    for s in states {
        let s = s.stats();
        t.model_bits += s.model_bits;
        t.mixed_bits += s.mixed_bits;
        for e in 0..EXPERTS {
            t.experts_bits[e] += s.experts_bits[e];
        }
    }
    t
}

/// Channel c's value at (y + dy, x + dx) of a W×H×C raster read by `get` (an index; None for
/// what is not there yet), 0 outside the image.
#[inline]
pub fn neighbour(
    get: impl Fn(usize) -> Option<u8>,
    (width, channels): (usize, usize),
    (y, x, c): (usize, usize, usize),
    (dy, dx): (isize, isize),
) -> i32 {
    let (yy, xx) = (y as isize + dy, x as isize + dx);
    if yy < 0 || xx < 0 || xx >= width as isize {
        return 0;
    }
    get((yy as usize * width + xx as usize) * channels + c).map_or(0, |v| v as i32)
}

/// log2 for statistics only (never for coding): f64's own, which may differ in the last bits
/// between platforms; the coded bits do not depend on it.
fn log2(x: f64) -> f64 {
    x.log2()
}

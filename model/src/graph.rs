//! The engine graph (planes and steps in topological order) and its two modes: batch (row by
//! row, each row's positions in parallel; used to encode) and incremental (one sub-pixel at a
//! time, [`crate::session`]; used to decode and sample). Both compute every value with the steps'
//! `point` functions, and keep only the rows each plane's readers can reach.

use rayon::prelude::*;

use crate::chain::OpChain;
use crate::config::{Config, Head};
use crate::dist::Dist;
use crate::error::{ModelError, Result};
use crate::fmath::softmax;
use crate::fused::MAX_POSITIONS;
use crate::kernels::Arith;
use crate::layers::Plane;
use crate::mixture::{Layout, PixelMixture};
use crate::multiscale::CondMap;
use crate::recurrent::{DiagLstmOp, RowLstmOp};
pub use crate::session::Session;
pub(crate) use crate::step::relu;
pub use crate::step::{Sched, Step};

/// Planes and steps of a model. Plane `image` holds the scaled input, plane `logits` the output.
#[derive(Clone, Debug)]
pub struct Graph {
    pub channels: usize,
    pub levels: usize,
    /// Channel groups of every map ([`Config::groups`]).
    pub groups: usize,
    /// The logistic-mixture head's parameter layout and bin edges (None: softmax).
    pub mixture: Option<(Layout, Vec<f32>)>,
    pub plane_ch: Vec<usize>,
    pub steps: Vec<Step>,
    pub image: usize,
    pub logits: usize,
    /// The conditioning plane of a multi-scale model's conditional network (filled a row at a
    /// time from a [`CondMap`] before any step of that row runs).
    pub cond: Option<usize>,
    /// Input scaling: level v ↦ 2v/(levels−1) − 1.
    scale: Vec<f32>,
    /// Rows each plane keeps.
    ring_rows: Vec<usize>,
    /// Incremental mode's one-call plan of each convolution step, where it has one.
    pub(crate) chains: Vec<Option<OpChain>>,
}

impl Graph {
    pub(crate) fn new(c: &Config) -> Graph {
        let den = (c.levels - 1) as f32;
        let scale: Vec<f32> = (0..c.levels).map(|v| v as f32 * 2.0 / den - 1.0).collect();
        let mixture = match c.head {
            Head::Softmax => None,
            Head::LogisticMixture { components } => Some((
                Layout {
                    channels: c.channels,
                    k: components,
                },
                crate::mixture::edges(&scale),
            )),
        };
        let mut g = Graph {
            channels: c.channels,
            levels: c.levels,
            groups: c.groups(),
            mixture,
            plane_ch: vec![c.channels],
            steps: Vec::new(),
            image: 0,
            logits: 0,
            cond: None,
            scale,
            ring_rows: Vec::new(),
            chains: Vec::new(),
        };
        if c.multiscale.is_some() {
            g.cond = Some(g.plane(c.cond_features()));
        }
        g
    }

    /// Input scaling: the float each level is fed to the network as.
    pub fn scale(&self) -> &[f32] {
        &self.scale
    }

    pub(crate) fn plane(&mut self, ch: usize) -> usize {
        self.plane_ch.push(ch);
        self.plane_ch.len() - 1
    }

    /// Whether sub-pixel c's distribution is skipped where only channel `only`'s is wanted
    /// (the alpha split's alpha model): its channel group's logits step and softmax are not
    /// run. Never with one channel group (the mixture head computes every channel at once).
    pub(crate) fn skips(&self, only: Option<usize>, c: usize) -> bool {
        self.groups > 1 && only.is_some_and(|o| o != c)
    }

    /// Whether `step` writes the logits plane (only the distribution reads it).
    pub(crate) fn writes_logits(&self, step: &Step) -> bool {
        matches!(step, Step::Conv(op) if op.raw == Some(self.logits) && op.relu.is_none())
    }

    pub(crate) fn push(&mut self, step: impl Into<Step>) {
        self.steps.push(step.into());
    }

    pub(crate) fn finish(&mut self, logits: usize) {
        self.logits = logits;
        let groups = self.groups;
        self.chains = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Conv(op) => OpChain::new(op, groups),
                _ => None,
            })
            .collect();
        self.ring_rows = vec![1; self.plane_ch.len()];
        for s in &self.steps {
            for (p, up) in s.reads() {
                self.ring_rows[p] = self.ring_rows[p].max(up + 1);
            }
        }
    }

    pub(crate) fn planes(&self, width: usize, height: usize) -> Vec<Plane> {
        self.planes_for(width, height, 1)
    }

    /// Planes for `rows` rows computed side by side ([`crate::rows`]): each ring `rows − 1`
    /// rows deeper.
    pub(crate) fn planes_for(&self, width: usize, height: usize, rows: usize) -> Vec<Plane> {
        (0..self.plane_ch.len())
            .map(|p| {
                let mut pl = Plane::default();
                pl.reset(
                    width,
                    self.plane_ch[p],
                    (self.ring_rows[p] + rows - 1).min(height.max(1)),
                );
                pl
            })
            .collect()
    }

    /// Columns a row must stay behind the row above when rows are decoded side by side (at
    /// least 1, for the adaptive experts' NE neighbour); None when the model cannot be: steps
    /// that need whole rows, or a conditioning plane (multi-scale).
    pub(crate) fn row_lag(&self) -> Option<usize> {
        if self.cond.is_some() {
            return None;
        }
        self.steps.iter().try_fold(1, |lag, s| Some(lag.max(s.reach()?)))
    }

    pub(crate) fn scratch(&self) -> Vec<f32> {
        vec![0.0; self.steps.iter().map(|s| s.units() * s.values()).max().unwrap_or(0)]
    }

    /// A conditioning map is given exactly when the graph has a conditioning plane, with its
    /// feature count.
    fn check_cond(&self, cond: Option<&CondMap>) -> Result<()> {
        let want = self.cond.map(|p| self.plane_ch[p]);
        let found = cond.map(|c| c.features());
        if want != found {
            return Err(ModelError::Mismatch {
                what: "conditioning map",
                expected: format!("{want:?} features"),
                found: format!("{found:?}"),
            });
        }
        Ok(())
    }

    pub(crate) fn check(&self, pixels: &[u8], width: usize, height: usize) -> Result<()> {
        let want = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(self.channels))
            .ok_or(ModelError::Limit {
                what: "image size",
                value: u64::MAX,
                limit: usize::MAX as u64,
            })?;
        if width == 0 || height == 0 || pixels.len() != want {
            return Err(ModelError::Mismatch {
                what: "pixel buffer",
                expected: format!("{want} bytes ({width}×{height}×{})", self.channels),
                found: format!("{} bytes", pixels.len()),
            });
        }
        if let Some(&v) = pixels.iter().find(|&&v| v as usize >= self.levels) {
            return Err(ModelError::Mismatch {
                what: "sub-pixel values",
                expected: format!("values below {}", self.levels),
                found: format!("the value {v}"),
            });
        }
        Ok(())
    }

    /// Batch mode: the distribution (`levels` probabilities) of every sub-pixel of `pixels`
    /// (H×W×C, raster order), handed to `sink` with the sub-pixel's value, in raster order. Results do not depend on `threads`.
    /// `cond`: the conditioning map, for (and only for) a multi-scale model's conditional network.
    #[allow(clippy::too_many_arguments)]
    pub fn batch<E: From<ModelError>>(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        cond: Option<&mut CondMap>,
        mut sink: impl FnMut(Dist<'_>, u8) -> Result<(), E>,
    ) -> Result<(), E> {
        if threads <= 1 && cond.is_none() && self.wave_ok() {
            self.check(pixels, width, height)?;
            return self.batch_blocks(arith, pixels, width, height, sink);
        }
        let mut probs = Vec::new();
        self.run_rows(arith, pixels, width, height, threads, cond, |pool, out, px| {
            self.row_distributions(pool, out, px, &mut probs, &mut sink)
        })
    }

    /// The raw outputs of the last layer (before the softmax) of every sub-pixel, H×W×C×levels
    /// (the mixture head: its parameters, H×W×P); for checking the engine against libtorch.
    pub fn logits(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        cond: Option<&mut CondMap>,
    ) -> Result<Vec<f32>> {
        let mut all = Vec::with_capacity(width * height * self.plane_ch[self.logits]);
        self.run_rows::<ModelError>(arith, pixels, width, height, threads, cond, |_, out, _| {
            all.extend_from_slice(out);
            Ok(())
        })?;
        Ok(all)
    }

    /// One row's distributions from its outputs `out` (W × outputs) and values `px` (W × C), to
    /// `sink` in raster order: softmaxes (in parallel) or each pixel's mixture, channel by channel.
    fn row_distributions<E>(
        &self,
        pool: &rayon::ThreadPool,
        out: &[f32],
        px: &[u8],
        probs: &mut Vec<f32>,
        sink: &mut impl FnMut(Dist<'_>, u8) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.mixture.is_none() {
            let levels = self.levels;
            probs.resize(out.len(), 0.0);
            pool.install(|| {
                probs
                    .par_chunks_mut(levels)
                    .zip(out.par_chunks(levels))
                    .for_each(|(p, l)| softmax(l, p))
            });
            for (p, &v) in probs.chunks_exact(levels).zip(px) {
                sink(Dist::Probs(p), v)?;
            }
            return Ok(());
        }
        self.dists(out, px, &mut [], sink)
    }

    /// The distributions of positions with outputs `out` (n × outputs) and values `px` (n × C)
    /// to `f`, in order: each sub-pixel's softmax (into `probs`, `levels` long), or each pixel's
    /// mixture channel by channel (`probs` unused).
    pub(crate) fn dists<E>(
        &self,
        out: &[f32],
        px: &[u8],
        probs: &mut [f32],
        f: &mut impl FnMut(Dist<'_>, u8) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some((layout, edges)) = &self.mixture else {
            for (l, &v) in out.chunks_exact(self.levels).zip(px) {
                softmax(l, probs);
                f(Dist::Probs(probs), v)?;
            }
            return Ok(());
        };
        let np = self.plane_ch[self.logits];
        for (params, px) in out.chunks_exact(np).zip(px.chunks_exact(self.channels)) {
            let mut mix = PixelMixture::new(*layout, params);
            for (c, &v) in px.iter().enumerate() {
                let cdf = mix.channel(params, c, edges);
                f(Dist::Mixture(&cdf), v)?;
                mix.observe(&cdf, c, v as usize, self.scale[v as usize]);
            }
        }
        Ok(())
    }

    /// Runs the network over the image a row at a time and hands each finished row's outputs
    /// (W × outputs) and values (W × C) to `row`, with the thread pool.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn run_rows<E: From<ModelError>>(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        mut cond: Option<&mut CondMap>,
        mut row: impl FnMut(&rayon::ThreadPool, &[f32], &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.check(pixels, width, height)?;
        self.check_cond(cond.as_deref())?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map_err(|e| ModelError::bad("threads", e.to_string()))?;
        let mut planes = self.planes(width, height);
        let mut scratch = self.scratch();
        let mut tmp = Vec::new();
        // Positions per task: a few tasks per thread, each a whole number of kernel blocks.
        let chunk = width
            .div_ceil(4 * threads.max(1))
            .next_multiple_of(MAX_POSITIONS)
            .min(width.max(1));
        let row_len = width * self.channels;
        for y in 0..height {
            let row_px = &pixels[y * row_len..(y + 1) * row_len];
            for (d, &v) in planes[self.image].row_mut(y).iter_mut().zip(row_px) {
                *d = self.scale[v as usize];
            }
            if let (Some(p), Some(cm)) = (self.cond, cond.as_deref_mut()) {
                cm.row(y, planes[p].row_mut(y));
            }
            for step in &self.steps {
                let units = step.units();
                match step.sched() {
                    Sched::Parallel | Sched::RowStart => {
                        let per = units * step.values();
                        tmp.resize(width * per, 0.0);
                        let pl = &planes;
                        pool.install(|| {
                            tmp.par_chunks_mut(chunk * per).enumerate().for_each(|(i, part)| {
                                for (j, out) in part.chunks_mut(MAX_POSITIONS * per).enumerate() {
                                    let pos = (y, i * chunk + j * MAX_POSITIONS, out.len() / per);
                                    step.block(arith, pl, pos, 0..units, out, per);
                                }
                            })
                        });
                        for (x, out) in tmp.chunks_exact(per).enumerate() {
                            step.write(&mut planes, y, x, 0..units, out);
                        }
                    }
                    Sched::LeftToRight => {
                        for x in 0..width {
                            step.run(arith, &mut planes, y, x, 0..units, &mut scratch);
                        }
                    }
                    Sched::RowEnd => {
                        for x in (0..width).rev() {
                            step.run(arith, &mut planes, y, x, 0..units, &mut scratch);
                        }
                    }
                }
            }
            row(&pool, planes[self.logits].row_mut(y), row_px)?;
        }
        Ok(())
    }

    /// Starts incremental mode for a `width`×`height` image; `cond` as for [`Graph::batch`].
    pub fn session<'a>(
        &'a self,
        arith: Arith,
        width: usize,
        height: usize,
        cond: Option<CondMap<'a>>,
    ) -> Result<Session<'a>> {
        self.check_cond(cond.as_ref())?;
        Ok(Session::new(self, arith, width, height, cond))
    }

    /// Multiply-adds per pixel (all channel groups, interior pixel).
    pub fn macs_per_pixel(&self) -> usize {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Conv(op) => op.terms.iter().map(|(_, c)| c.macs()).sum(),
                Step::RowLstm(RowLstmOp { p }) | Step::Diag(DiagLstmOp { p, .. }) => p.macs(),
                Step::Gated(op) => op.terms.iter().map(|(_, c)| c.macs()).sum(),
            })
            .sum()
    }
}

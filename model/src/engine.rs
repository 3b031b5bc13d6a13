//! The deterministic inference engine: a validated model ready to give sub-pixel distributions
//! in batch or incremental mode.

use std::borrow::Cow;
use std::path::Path;

use crate::config::{Arch, Config};
use crate::dist::Dist;
use crate::error::{ModelError, Result};
use crate::graph::{Graph, Session};
use crate::kernels::Arith;
use crate::multiscale::{self, is_known, small_size, MultiSession, Upsampler};
use crate::rows::Rows;
use crate::wave::{RowBatch, RowWave};
use crate::weights::{ModelId, Weights, SMALL_PREFIX};

/// A model loaded into the engine.
#[derive(Clone, Debug)]
pub struct Engine {
    weights: Weights,
    graph: Graph,
    multi: Option<Multi>,
}

/// The parts of a multi-scale model besides its conditional network.
#[derive(Clone, Debug)]
struct Multi {
    small: Graph,
    up: Upsampler,
}

fn build_graph(w: &Weights) -> Graph {
    match w.config().arch {
        Arch::PixelCnn => crate::pixel_cnn::graph(w),
        Arch::RowLstm | Arch::DiagonalBilstm => crate::lstm::graph(w),
        Arch::GatedPixelCnn => crate::gated::graph(w),
    }
}

impl Engine {
    /// Builds the engine for validated weights.
    pub fn new(weights: Weights) -> Result<Engine> {
        weights.config().validate()?;
        let graph = build_graph(&weights);
        let multi = match weights.config().small() {
            Some(small) => Some(Multi {
                small: build_graph(&weights.sub(SMALL_PREFIX, small)?),
                up: Upsampler::new(&weights),
            }),
            None => None,
        };
        Ok(Engine { weights, graph, multi })
    }

    /// Loads a weight file.
    pub fn load(path: &Path) -> Result<Engine> {
        Engine::new(Weights::load(path)?)
    }

    /// A model with seeded random weights (tests, benches, placeholder defaults).
    pub fn random(config: &Config, seed: u64) -> Result<Engine> {
        Engine::new(Weights::random(config, seed)?)
    }

    #[cfg(test)]
    pub(crate) fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn config(&self) -> &Config {
        self.weights.config()
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// SHA-256 of the weight file.
    pub fn id(&self) -> ModelId {
        self.weights.id()
    }

    pub fn channels(&self) -> usize {
        self.graph.channels
    }

    pub fn levels(&self) -> usize {
        self.graph.levels
    }

    /// Batch mode: every sub-pixel's distribution and value, in coding order, to `sink`: raster order for
    /// single-scale models (see [`Graph::batch`]); for multi-scale ones the small image, then
    /// the full image's other pixels ([`Engine::coding_order`]). In the fused multiply-add
    /// arithmetic ([`Arith::fma`]); [`Engine::batch_with`] chooses.
    pub fn batch<E: From<ModelError>>(
        &self,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        sink: impl FnMut(Dist<'_>, u8) -> Result<(), E>,
    ) -> Result<(), E> {
        self.batch_with(Arith::fma(), pixels, width, height, threads, sink)
    }

    /// Batch mode a row at a time, rows side by side on `threads` threads where the model
    /// allows ([`Graph::batch_rows`]); None for a multi-scale model, whose coding order is not
    /// the raster's.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_rows_with<E: From<ModelError> + Send>(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        row: impl Fn(&mut RowBatch<'_>) -> Result<(), E> + Sync,
    ) -> Option<Result<(), E>> {
        match self.multi {
            None => Some(self.graph.batch_rows(arith, pixels, width, height, threads, row)),
            Some(_) => None,
        }
    }

    /// Batch-mode rows computed on the caller's threads ([`RowWave`]); None for a multi-scale
    /// model, and for a model whose rows cannot run side by side.
    pub fn row_wave<'a>(
        &'a self,
        arith: Arith,
        pixels: &'a [u8],
        width: usize,
        height: usize,
        threads: usize,
    ) -> Result<Option<RowWave<'a>>> {
        match self.multi {
            None => self.graph.row_wave(arith, pixels, width, height, threads),
            Some(_) => Ok(None),
        }
    }

    /// [`Engine::batch`] in the given arithmetic (format versions 1 and 2: [`Arith::Legacy`]).
    pub fn batch_with<E: From<ModelError>>(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        mut sink: impl FnMut(Dist<'_>, u8) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(m) = &self.multi else {
            return self.graph.batch(arith, pixels, width, height, threads, None, sink);
        };
        let (ch, k) = (self.channels(), self.config().factor());
        let (small, sw, sh) = self.small_image(pixels, width, height);
        m.small.batch(arith, &small, sw, sh, threads, None, &mut sink)?;
        let mut cond = m.up.map(small, sw, sh, self.graph.scale());
        let mut i = 0usize;
        self.graph.batch(
            arith,
            pixels,
            width,
            height,
            threads,
            Some(&mut cond),
            |p: Dist<'_>, v: u8| {
                let pos = i / ch;
                i += 1;
                if is_known(pos / width, pos % width, k) {
                    Ok(())
                } else {
                    sink(p, v)
                }
            },
        )
    }

    /// Raw logits of every sub-pixel (H×W×C×levels), before the softmax (the mixture head: its
    /// parameters, H×W×P). For a multi-scale
    /// model: the small image's logits, then the conditional network's logits of every full-image
    /// sub-pixel (known ones included).
    pub fn logits(&self, pixels: &[u8], width: usize, height: usize, threads: usize) -> Result<Vec<f32>> {
        self.logits_with(Arith::fma(), pixels, width, height, threads)
    }

    /// [`Engine::logits`] in the given arithmetic.
    pub fn logits_with(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
    ) -> Result<Vec<f32>> {
        let Some(m) = &self.multi else {
            return self.graph.logits(arith, pixels, width, height, threads, None);
        };
        let (small, sw, sh) = self.small_image(pixels, width, height);
        let mut out = m.small.logits(arith, &small, sw, sh, threads, None)?;
        let mut cond = m.up.map(small, sw, sh, self.graph.scale());
        out.extend(
            self.graph
                .logits(arith, pixels, width, height, threads, Some(&mut cond))?,
        );
        Ok(out)
    }

    /// Incremental mode for decoding and sampling: sub-pixels in coding order
    /// ([`Engine::coding_order`]).
    pub fn session(&self, width: usize, height: usize) -> EngineSession<'_> {
        self.session_with(Arith::fma(), width, height)
    }

    /// [`Engine::session`] in the given arithmetic (format versions 1 and 2: [`Arith::Legacy`]).
    pub fn session_with(&self, arith: Arith, width: usize, height: usize) -> EngineSession<'_> {
        match &self.multi {
            None => EngineSession::Single(self.graph.session(arith, width, height, None).expect("no conditioning")),
            Some(m) => EngineSession::Multi(Box::new(MultiSession::new(
                arith,
                (&m.small, &self.graph, &m.up),
                width,
                height,
            ))),
        }
    }

    /// Rows decoded side by side on threads ([`crate::rows`]), at most `in_flight` at a time,
    /// with the distributions of [`Engine::session_with`]; None for models that cannot
    /// (multi-scale models, the gated PixelCNN, the Diagonal BiLSTM).
    pub fn rows_with(&self, arith: Arith, width: usize, height: usize, in_flight: usize) -> Option<Rows<'_>> {
        match self.multi {
            None => Rows::new(&self.graph, arith, width, height, in_flight),
            Some(_) => None,
        }
    }

    /// The small image of a multi-scale model and its size (width, height).
    fn small_image(&self, pixels: &[u8], width: usize, height: usize) -> (Vec<u8>, usize, usize) {
        let k = self.config().factor();
        let (sw, sh) = small_size(width, height, k);
        (multiscale::subsample(pixels, width, height, self.channels(), k), sw, sh)
    }

    /// The sub-pixels of an H×W×C raster in the order they are coded (the raster itself, not
    /// copied, for single-scale models; the small image first for multi-scale ones).
    pub fn coding_order<'p>(&self, pixels: &'p [u8], width: usize, height: usize) -> Cow<'p, [u8]> {
        match &self.multi {
            None => Cow::Borrowed(pixels),
            Some(_) => {
                let k = self.config().factor();
                Cow::Owned(multiscale::coding_order(pixels, width, height, self.channels(), k))
            }
        }
    }

    /// Inverse of [`Engine::coding_order`].
    pub fn raster(&self, coded: Vec<u8>, width: usize, height: usize) -> Vec<u8> {
        match &self.multi {
            None => coded,
            Some(_) => multiscale::raster(&coded, width, height, self.channels(), self.config().factor()),
        }
    }

    /// Multiply-adds per pixel in incremental mode (unmasked weights), for benchmarks; for a
    /// multi-scale model, the conditional network, the small network's share (÷k²) and the
    /// upsampling.
    pub fn macs_per_pixel(&self) -> usize {
        let full = self.graph.macs_per_pixel();
        match &self.multi {
            None => full,
            Some(m) => {
                let k = self.config().factor();
                full + m.small.macs_per_pixel().div_ceil(k * k) + m.up.macs_per_pixel()
            }
        }
    }
}

/// An incremental session of either kind of model. (One exists per decode, so the size of the
/// inline single-scale session does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum EngineSession<'e> {
    Single(Session<'e>),
    Multi(Box<MultiSession<'e>>),
}

impl EngineSession<'_> {
    /// Only channel `c`'s distributions will be read ([`Session::only`]; a multi-scale
    /// session computes every one as before).
    pub fn only(self, c: usize) -> Self {
        match self {
            EngineSession::Single(s) => EngineSession::Single(s.only(c)),
            multi => multi,
        }
    }

    /// The distribution of the next sub-pixel in coding order.
    pub fn next_dist(&mut self) -> Dist<'_> {
        match self {
            EngineSession::Single(s) => s.next_dist(),
            EngineSession::Multi(s) => s.next_dist(),
        }
    }

    /// True once every sub-pixel has been pushed.
    pub fn done(&self) -> bool {
        match self {
            EngineSession::Single(s) => s.done(),
            EngineSession::Multi(s) => s.done(),
        }
    }

    /// The distribution of the next sub-pixel in coding order as `levels` probabilities (the
    /// mixture head's quantised ones), written into `probs`.
    pub fn distribution(&mut self, probs: &mut [f32]) {
        self.next_dist().probs_into(probs);
    }

    /// Records the value of the next sub-pixel in coding order and advances.
    pub fn push(&mut self, value: u8) {
        match self {
            EngineSession::Single(s) => s.push(value),
            EngineSession::Multi(s) => s.push(value),
        }
    }
}

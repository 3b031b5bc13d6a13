//! The deterministic inference engine: a validated model ready to give sub-pixel distributions
//! in batch or incremental mode.

use std::path::Path;

use crate::config::{Arch, Config};
use crate::error::{ModelError, Result};
use crate::graph::{Graph, Session};
use crate::weights::{ModelId, Weights};

/// A model loaded into the engine.
#[derive(Clone, Debug)]
pub struct Engine {
    weights: Weights,
    graph: Graph,
}

impl Engine {
    /// Builds the engine for validated weights.
    pub fn new(weights: Weights) -> Result<Engine> {
        weights.config().validate()?;
        let graph = match weights.config().arch {
            Arch::PixelCnn => crate::pixel_cnn::graph(&weights),
            Arch::RowLstm | Arch::DiagonalBilstm => crate::lstm::graph(&weights),
        };
        Ok(Engine { weights, graph })
    }

    /// Loads a weight file.
    pub fn load(path: &Path) -> Result<Engine> {
        Engine::new(Weights::load(path)?)
    }

    /// A model with seeded random weights (tests, benches, placeholder defaults).
    pub fn random(config: &Config, seed: u64) -> Result<Engine> {
        Engine::new(Weights::random(config, seed)?)
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

    /// Batch mode: every sub-pixel's distribution, in coding order, to `sink`.
    /// See [`Graph::batch`].
    pub fn batch<E: From<ModelError>>(
        &self,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        sink: impl FnMut(&[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.graph.batch(pixels, width, height, threads, sink)
    }

    /// Raw logits of every sub-pixel (H×W×C×levels), before the softmax.
    pub fn logits(&self, pixels: &[u8], width: usize, height: usize, threads: usize) -> Result<Vec<f32>> {
        self.graph.logits(pixels, width, height, threads)
    }

    /// Incremental mode for decoding and sampling.
    pub fn session(&self, width: usize, height: usize) -> Session<'_> {
        self.graph.session(width, height)
    }

    /// Multiply-adds per pixel in incremental mode (unmasked weights), for benchmarks.
    pub fn macs_per_pixel(&self) -> usize {
        self.graph.macs_per_pixel()
    }
}

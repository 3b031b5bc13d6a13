//! The interface between the codec and a probability model: the engine implements it, and
//! codec tests use a tiny mock.

use pixelrnn_model::{Engine, ModelId, Session};

use crate::error::Result;

/// A source of sub-pixel distributions, in batch (encode) and sequential (decode) form. Both
/// forms must give bit-identical probabilities for the same context.
pub trait ProbabilityModel: Sync {
    /// Coded sub-pixels per pixel.
    fn channels(&self) -> usize;
    /// Values per sub-pixel.
    fn levels(&self) -> usize;
    /// Identifies the model in the `.prnn` header.
    fn id(&self) -> ModelId;
    /// Every sub-pixel's distribution (`levels` probabilities), in coding order.
    fn batch(
        &self,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        sink: &mut dyn FnMut(&[f32]) -> Result<()>,
    ) -> Result<()>;
    /// A sequential decoder state for a `width`×`height` image.
    fn sequential<'a>(&'a self, width: usize, height: usize) -> Box<dyn SequentialModel + 'a>;
}

/// One sub-pixel at a time: `distribution`, then `push` the value, repeated in coding order.
pub trait SequentialModel {
    fn distribution(&mut self, probs: &mut [f32]);
    fn push(&mut self, value: u8);
}

impl ProbabilityModel for Engine {
    fn channels(&self) -> usize {
        Engine::channels(self)
    }

    fn levels(&self) -> usize {
        Engine::levels(self)
    }

    fn id(&self) -> ModelId {
        Engine::id(self)
    }

    fn batch(
        &self,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        sink: &mut dyn FnMut(&[f32]) -> Result<()>,
    ) -> Result<()> {
        Engine::batch(self, pixels, width, height, threads, sink)
    }

    fn sequential<'a>(&'a self, width: usize, height: usize) -> Box<dyn SequentialModel + 'a> {
        Box::new(self.session(width, height))
    }
}

impl SequentialModel for Session<'_> {
    fn distribution(&mut self, probs: &mut [f32]) {
        Session::distribution(self, probs)
    }

    fn push(&mut self, value: u8) {
        Session::push(self, value)
    }
}

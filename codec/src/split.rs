//! Alpha split: an image with alpha coded with a model of its colour channels alone (the RGB
//! or grey default), whose distribution of the alpha channel is uniform, so that the adaptive
//! coding (its experts and the context stage) learns the alpha from the image itself.
//!
//! The colour model sees the colour channels only, in raster order, exactly as for an image
//! without alpha; the alpha sub-pixel follows each pixel's colour. Any model that codes in
//! raster order can be split; its id becomes [`alpha_split_id`] of the colour model's.

use pixelrnn_model::defaults::alpha_split_id;
use pixelrnn_model::{Arith, Dist, ModelId};

use crate::error::Result;
use crate::model::{ProbabilityModel, RowDists, RowModel, RowSequential, SequentialModel};

/// A model of `C` colour channels as a model of `C + 1` channels, the last one uniform.
pub struct AlphaSplit<M> {
    colour: M,
    uniform: Vec<f32>,
    id: ModelId,
}

impl<M: ProbabilityModel> AlphaSplit<M> {
    /// The split of `colour`; None for a model that does not code in raster order (a
    /// multi-scale model) or already has 4 channels.
    pub fn new(colour: M) -> Option<Self> {
        if !colour.raster_order() || colour.channels() >= 4 {
            return None;
        }
        let levels = colour.levels();
        Some(AlphaSplit {
            id: alpha_split_id(&colour.id()),
            uniform: vec![1.0 / levels as f32; levels],
            colour,
        })
    }

    /// The colour model.
    pub fn colour(&self) -> &M {
        &self.colour
    }
}

/// The colour channels of `pixels` (`cc + 1` values a pixel, alpha last).
fn colour_of(pixels: &[u8], cc: usize) -> Vec<u8> {
    pixels
        .chunks_exact(cc + 1)
        .flat_map(|p| p[..cc].iter().copied())
        .collect()
}

/// Hands `f` the colour model's sub-pixels and, after each pixel's colour, its alpha (read from
/// `alpha_of(pixel index)`) with the uniform distribution.
struct Interleave<'u> {
    cc: usize,
    c: usize,
    pixel: usize,
    uniform: &'u [f32],
}

impl Interleave<'_> {
    fn step(
        &mut self,
        f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>,
        alpha_of: impl Fn(usize) -> u8,
        d: Dist<'_>,
        v: u8,
    ) -> Result<()> {
        f(d, v)?;
        self.c += 1;
        if self.c == self.cc {
            self.c = 0;
            f(Dist::Probs(self.uniform), alpha_of(self.pixel))?;
            self.pixel += 1;
        }
        Ok(())
    }
}

impl<M: ProbabilityModel> ProbabilityModel for AlphaSplit<M> {
    fn channels(&self) -> usize {
        self.colour.channels() + 1
    }

    fn levels(&self) -> usize {
        self.colour.levels()
    }

    fn id(&self) -> ModelId {
        self.id
    }

    fn batch(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        sink: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>,
    ) -> Result<()> {
        let cc = self.colour.channels();
        let colour = colour_of(pixels, cc);
        let mut il = Interleave {
            cc,
            c: 0,
            pixel: 0,
            uniform: &self.uniform,
        };
        let alpha_of = |p: usize| pixels[p * (cc + 1) + cc];
        self.colour.batch(arith, &colour, width, height, threads, &mut |d, v| {
            il.step(sink, alpha_of, d, v)
        })
    }

    fn sequential<'a>(&'a self, arith: Arith, width: usize, height: usize) -> Box<dyn SequentialModel + 'a> {
        Box::new(Split {
            colour: self.colour.sequential(arith, width, height),
            cc: self.colour.channels(),
            c: 0,
            uniform: &self.uniform,
        })
    }

    fn rows<'a>(
        &'a self,
        arith: Arith,
        width: usize,
        height: usize,
        in_flight: usize,
    ) -> Option<Box<dyn RowModel + 'a>> {
        Some(Box::new(SplitRows {
            colour: self.colour.rows(arith, width, height, in_flight)?,
            cc: self.colour.channels(),
            uniform: &self.uniform,
        }))
    }

    fn batch_rows(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        row: &(dyn Fn(usize, &mut dyn RowDists) -> Result<()> + Sync),
    ) -> Option<Result<()>> {
        let cc = self.colour.channels();
        let colour = colour_of(pixels, cc);
        let stride = width * (cc + 1);
        let uniform = &self.uniform[..];
        self.colour
            .batch_rows(arith, &colour, width, height, threads, &|y, dists| {
                let alpha = &pixels[y * stride..(y + 1) * stride];
                row(
                    y,
                    &mut SplitDists {
                        colour: dists,
                        alpha,
                        cc,
                        uniform,
                    },
                )
            })
    }
}

/// One sub-pixel at a time: the colour model's, then the uniform alpha.
struct Split<'a> {
    colour: Box<dyn SequentialModel + 'a>,
    cc: usize,
    c: usize,
    uniform: &'a [f32],
}

impl SequentialModel for Split<'_> {
    fn next_dist(&mut self) -> Dist<'_> {
        if self.c == self.cc {
            Dist::Probs(self.uniform)
        } else {
            self.colour.next_dist()
        }
    }

    fn push(&mut self, value: u8) {
        if self.c == self.cc {
            self.c = 0;
        } else {
            self.colour.push(value);
            self.c += 1;
        }
    }
}

/// Rows side by side: the colour model's, each row's alpha uniform.
struct SplitRows<'a> {
    colour: Box<dyn RowModel + 'a>,
    cc: usize,
    uniform: &'a [f32],
}

impl RowModel for SplitRows<'_> {
    fn row<'b>(&'b self, y: usize) -> Box<dyn RowSequential + 'b> {
        Box::new(SplitRow {
            colour: self.colour.row(y),
            cc: self.cc,
            c: 0,
            uniform: self.uniform,
        })
    }

    fn abort(&self) {
        self.colour.abort()
    }
}

struct SplitRow<'a> {
    colour: Box<dyn RowSequential + 'a>,
    cc: usize,
    c: usize,
    uniform: &'a [f32],
}

impl RowSequential for SplitRow<'_> {
    fn next_dist(&mut self) -> Option<Dist<'_>> {
        if self.c == self.cc {
            Some(Dist::Probs(self.uniform))
        } else {
            self.colour.next_dist()
        }
    }

    fn push(&mut self, value: u8) {
        if self.c == self.cc {
            self.c = 0;
        } else {
            self.colour.push(value);
            self.c += 1;
        }
    }
}

/// One row of batch mode: the colour model's row with the row's alpha interleaved.
struct SplitDists<'a, 'd> {
    colour: &'d mut dyn RowDists,
    alpha: &'a [u8],
    cc: usize,
    uniform: &'a [f32],
}

impl RowDists for SplitDists<'_, '_> {
    fn for_each(&mut self, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>) -> Result<()> {
        let (alpha, cc) = (self.alpha, self.cc);
        let mut il = Interleave {
            cc,
            c: 0,
            pixel: 0,
            uniform: self.uniform,
        };
        let alpha_of = |p: usize| alpha[p * (cc + 1) + cc];
        self.colour.for_each(&mut |d, v| il.step(f, alpha_of, d, v))
    }
}

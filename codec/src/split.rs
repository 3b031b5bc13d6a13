//! Alpha split: an image with alpha coded with two models, one of its colour channels alone
//! (the RGB or grey default, trained on photos) for the colour, and one of every channel (the
//! RGBA or grey+alpha default, which has seen cut-outs) for the alpha.
//!
//! The colour model sees the colour channels only, in raster order, exactly as for an image
//! without alpha; the alpha model sees every channel and is asked for the alpha sub-pixel of
//! each pixel only. Both code in raster order; the split's id is [`alpha_split_id`] of theirs.

use std::ops::Range;

use pixelrnn_model::defaults::alpha_split_id;
use pixelrnn_model::{Arith, Dist, ModelId};

use crate::error::{CodecError, Result};
use crate::model::{ProbabilityModel, RowDists, RowGroupModel, RowModel, RowSequential, SequentialModel};

/// A model of `C` colour channels and a model of `C + 1` channels, as one model of `C + 1`
/// channels: the colour sub-pixels' distributions are the first's, the alpha's the second's.
pub struct AlphaSplit<M> {
    colour: M,
    alpha: M,
    id: ModelId,
}

impl<M: ProbabilityModel> AlphaSplit<M> {
    /// The split of `colour` and `alpha`; None unless `alpha` has one channel more than
    /// `colour` (2 or 4), the levels agree, and both code in raster order (not multi-scale).
    pub fn new(colour: M, alpha: M) -> Option<Self> {
        let fits = alpha.channels() == colour.channels() + 1
            && matches!(alpha.channels(), 2 | 4)
            && alpha.levels() == colour.levels()
            && colour.raster_order()
            && alpha.raster_order();
        fits.then(|| AlphaSplit {
            id: alpha_split_id(&colour.id(), &alpha.id()),
            colour,
            alpha,
        })
    }

    /// The colour model.
    pub fn colour(&self) -> &M {
        &self.colour
    }

    /// The alpha model.
    pub fn alpha(&self) -> &M {
        &self.alpha
    }
}

/// The colour channels of `pixels` (`cc + 1` values a pixel, alpha last).
fn colour_of(pixels: &[u8], cc: usize) -> Vec<u8> {
    pixels
        .chunks_exact(cc + 1)
        .flat_map(|p| p[..cc].iter().copied())
        .collect()
}

fn aborted() -> CodecError {
    CodecError::BadParameter("the alpha model's rows were aborted".into())
}

/// The alpha model's incremental form, one sub-pixel at a time, as the sequential session
/// and a row of the rows side by side both give it: `next` (None once aborted), then `push`.
trait Incremental {
    fn next(&mut self) -> Option<Dist<'_>>;
    fn push(&mut self, value: u8);
}

impl Incremental for Box<dyn SequentialModel + '_> {
    fn next(&mut self) -> Option<Dist<'_>> {
        Some(self.next_dist())
    }
    fn push(&mut self, value: u8) {
        SequentialModel::push(&mut **self, value)
    }
}

impl Incremental for Box<dyn RowSequential + '_> {
    fn next(&mut self) -> Option<Dist<'_>> {
        self.next_dist()
    }
    fn push(&mut self, value: u8) {
        RowSequential::push(&mut **self, value)
    }
}

/// Hands `f` the colour model's sub-pixels as they come and, after each pixel's colour, its
/// alpha (`alpha_of(pixel index)`) with the alpha model's distribution; the alpha model is fed
/// every value.
struct Interleave<A> {
    alpha: A,
    cc: usize,
    c: usize,
    pixel: usize,
}

impl<A: Incremental> Interleave<A> {
    fn step(
        &mut self,
        f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>,
        alpha_of: impl Fn(usize) -> u8,
        d: Dist<'_>,
        v: u8,
    ) -> Result<()> {
        f(d, v)?;
        self.alpha.next().ok_or_else(aborted)?;
        self.alpha.push(v);
        self.c += 1;
        if self.c == self.cc {
            self.c = 0;
            let a = alpha_of(self.pixel);
            f(self.alpha.next().ok_or_else(aborted)?, a)?;
            self.alpha.push(a);
            self.pixel += 1;
        }
        Ok(())
    }
}

impl<M: ProbabilityModel> ProbabilityModel for AlphaSplit<M> {
    fn channels(&self) -> usize {
        self.alpha.channels()
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
            alpha: self.alpha.sequential(arith, width, height),
            cc,
            c: 0,
            pixel: 0,
        };
        let alpha_of = |p: usize| pixels[p * (cc + 1) + cc];
        self.colour.batch(arith, &colour, width, height, threads, &mut |d, v| {
            il.step(sink, alpha_of, d, v)
        })
    }

    fn sequential<'a>(&'a self, arith: Arith, width: usize, height: usize) -> Box<dyn SequentialModel + 'a> {
        Box::new(Split {
            colour: self.colour.sequential(arith, width, height),
            alpha: self.alpha.sequential(arith, width, height),
            cc: self.colour.channels(),
            c: 0,
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
            alpha: self.alpha.rows(arith, width, height, in_flight)?,
            cc: self.colour.channels(),
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
        // The alpha model's rows side by side, each driven by the thread that computes the
        // colour model's row (a thread's rows in increasing order, at most `threads` at once).
        let alpha_rows = self.alpha.rows(arith, width, height, threads.max(1))?;
        let cc = self.colour.channels();
        let colour = colour_of(pixels, cc);
        let stride = width * (cc + 1);
        let alpha_rows = &*alpha_rows;
        self.colour
            .batch_rows(arith, &colour, width, height, threads, &|y, dists| {
                let mut split = SplitDists {
                    colour: dists,
                    alpha: Interleave {
                        alpha: alpha_rows.row(y),
                        cc,
                        c: 0,
                        pixel: 0,
                    },
                    values: &pixels[y * stride..(y + 1) * stride],
                };
                let r = row(y, &mut split);
                if r.is_err() {
                    // Rows below wait for this one: let them give up.
                    alpha_rows.abort();
                }
                r
            })
    }
}

/// One sub-pixel at a time, in sequence or along one row: the colour model's, then the alpha
/// model's alpha; the alpha model is fed (and so computes) every sub-pixel.
struct Split<S> {
    colour: S,
    alpha: S,
    cc: usize,
    c: usize,
}

impl<S: Incremental> Split<S> {
    fn next(&mut self) -> Option<Dist<'_>> {
        self.alpha.next()?;
        if self.c == self.cc {
            self.alpha.next()
        } else {
            self.colour.next()
        }
    }

    fn push(&mut self, value: u8) {
        if self.c == self.cc {
            self.c = 0;
        } else {
            self.colour.push(value);
            self.c += 1;
        }
        self.alpha.push(value);
    }
}

impl SequentialModel for Split<Box<dyn SequentialModel + '_>> {
    fn next_dist(&mut self) -> Dist<'_> {
        self.next().expect("a sequential model never aborts")
    }

    fn push(&mut self, value: u8) {
        Split::push(self, value)
    }
}

impl RowSequential for Split<Box<dyn RowSequential + '_>> {
    fn next_dist(&mut self) -> Option<Dist<'_>> {
        self.next()
    }

    fn push(&mut self, value: u8) {
        Split::push(self, value)
    }
}

/// Rows side by side: the colour model's and the alpha model's, in step.
struct SplitRows<'a> {
    colour: Box<dyn RowModel + 'a>,
    alpha: Box<dyn RowModel + 'a>,
    cc: usize,
}

impl RowModel for SplitRows<'_> {
    fn row<'b>(&'b self, y: usize) -> Box<dyn RowSequential + 'b> {
        Box::new(Split {
            colour: self.colour.row(y),
            alpha: self.alpha.row(y),
            cc: self.cc,
            c: 0,
        })
    }

    fn group<'b>(&'b self, ys: &[usize], lag: usize) -> Box<dyn RowGroupModel + 'b> {
        Box::new(SplitGroup {
            colour: self.colour.group(ys, lag),
            alpha: self.alpha.group(ys, lag),
            cc: self.cc,
            c: 0,
            computed: false,
        })
    }

    fn lag(&self) -> usize {
        self.colour.lag().max(self.alpha.lag())
    }

    fn abort(&self) {
        self.colour.abort();
        self.alpha.abort();
    }
}

/// Rows in step: the colour model's group steps through the colour sub-pixels, the alpha
/// model's through every sub-pixel; with the same rows and lag they are active together.
struct SplitGroup<'a> {
    colour: Box<dyn RowGroupModel + 'a>,
    alpha: Box<dyn RowGroupModel + 'a>,
    cc: usize,
    c: usize,
    computed: bool,
}

impl RowGroupModel for SplitGroup<'_> {
    fn step(&mut self) -> Option<Range<usize>> {
        if self.computed {
            self.c = (self.c + 1) % (self.cc + 1);
        }
        self.computed = true;
        let active = self.alpha.step()?;
        if self.c < self.cc && !active.is_empty() {
            let colour = self.colour.step()?;
            debug_assert_eq!(colour, active);
        }
        Some(active)
    }

    fn position(&self, j: usize) -> (usize, usize, usize) {
        self.alpha.position(j)
    }

    fn dist(&self, j: usize) -> Dist<'_> {
        if self.c == self.cc {
            self.alpha.dist(j)
        } else {
            self.colour.dist(j)
        }
    }

    fn push(&mut self, j: usize, value: u8) {
        if self.c < self.cc {
            self.colour.push(j, value);
        }
        self.alpha.push(j, value);
    }
}

/// One row of batch mode: the colour model's row with the alpha interleaved.
struct SplitDists<'a, 'd, 'r> {
    colour: &'d mut dyn RowDists,
    alpha: Interleave<Box<dyn RowSequential + 'r>>,
    values: &'a [u8],
}

impl RowDists for SplitDists<'_, '_, '_> {
    fn for_each(&mut self, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>) -> Result<()> {
        let (values, cc) = (self.values, self.alpha.cc);
        let alpha_of = |p: usize| values[p * (cc + 1) + cc];
        let il = &mut self.alpha;
        self.colour.for_each(&mut |d, v| il.step(f, alpha_of, d, v))
    }
}

//! Alpha split: an image with alpha coded with two models, one of its colour channels alone
//! (the RGB or grey default, trained on photos) for the colour, and one of every channel (the
//! RGBA or grey+alpha default, which has seen cut-outs) for the alpha.
//!
//! The colour model sees the colour channels only, in raster order, exactly as for an image
//! without alpha; the alpha model sees every channel and is asked for the alpha sub-pixel of
//! each pixel only. Both code in raster order; the split's id is [`alpha_split_id`] of theirs.

use std::sync::OnceLock;

use pixelrnn_model::defaults::alpha_split_id;
use pixelrnn_model::mixture::MixCdf;
use pixelrnn_model::{Arith, Dist, ModelId};

use crate::error::Result;
use crate::model::{ProbabilityModel, RowDists, RowModel, SequentialModel, WaveRows};
use crate::split_decode::{aborted, Incremental, Split, SplitRows};

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
        let alpha_of = |p: usize| pixels[p * (cc + 1) + cc];
        if let Some(wave) = self.alpha.row_wave(arith, pixels, width, height, 1)? {
            // The alpha model's rows in batch mode, each kept until the colour reaches it.
            let edges = OnceLock::new();
            let mut kept = Kept::new(cc);
            let r = self.colour.batch(arith, &colour, width, height, threads, &mut |d, v| {
                if kept.used_up() {
                    kept.fill(&*wave, kept.pixel / width, kept.pixel, &edges)?;
                }
                kept.step(sink, alpha_of, d, v)
            });
            if r.is_err() {
                wave.abort();
            }
            return r;
        }
        let mut il = Interleave {
            alpha: self.alpha.sequential(arith, width, height),
            cc,
            c: 0,
            pixel: 0,
        };
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
        let wave = match self.alpha.row_wave(arith, pixels, width, height, threads.max(1)) {
            Ok(wave) => wave,
            Err(e) => return Some(Err(e)),
        };
        // Without it, `batch` (which drives the alpha model incrementally).
        let wave = wave?;
        let cc = self.colour.channels();
        let colour = colour_of(pixels, cc);
        let stride = width * (cc + 1);
        // The alpha model's rows in batch mode, each computed by the thread that computes the
        // colour model's row, before it (a thread's rows in increasing order, at most
        // `threads` at once, as the row wave needs).
        let (wave, edges) = (&*wave, OnceLock::new());
        let r = self
            .colour
            .batch_rows(arith, &colour, width, height, threads, &|y, dists| {
                let mut kept = Kept::new(cc);
                let r = kept.fill(wave, y, 0, &edges).and_then(|()| {
                    let values = &pixels[y * stride..(y + 1) * stride];
                    let alpha_of = |p: usize| values[p * (cc + 1) + cc];
                    row(
                        y,
                        &mut SplitDists {
                            colour: dists,
                            alpha: |f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>, d: Dist<'_>, v: u8| {
                                kept.step(f, alpha_of, d, v)
                            },
                        },
                    )
                });
                if r.is_err() {
                    // Rows below wait for this one: let them give up.
                    wave.abort();
                }
                r
            });
        if matches!(r, Some(Err(_))) {
            wave.abort();
        }
        r
    }
}

/// The alpha model's distributions of one row's alpha sub-pixels, computed in batch mode
/// before the colour model's row reaches them; `step` interleaves them as [`Interleave`] does.
struct Kept<'e> {
    /// `levels` probabilities a pixel (a softmax head).
    probs: Vec<f32>,
    /// One distribution a pixel (a mixture head), reading the model's edges.
    mix: Vec<MixCdf<'e>>,
    levels: usize,
    cc: usize,
    c: usize,
    /// The next pixel's index, and the first kept one's (in `alpha_of`'s terms).
    pixel: usize,
    first: usize,
}

impl<'e> Kept<'e> {
    fn new(cc: usize) -> Self {
        Kept {
            probs: Vec::new(),
            mix: Vec::new(),
            levels: 0,
            cc,
            c: 0,
            pixel: 0,
            first: 0,
        }
    }

    /// Keeps row `y`'s alpha distributions from `wave`; the row's first pixel has index
    /// `first` (in `alpha_of`'s terms).
    fn fill(&mut self, wave: &dyn WaveRows, y: usize, first: usize, edges: &'e OnceLock<Vec<f32>>) -> Result<()> {
        let n = self.cc + 1;
        let (probs, mix, levels) = (&mut self.probs, &mut self.mix, &mut self.levels);
        probs.clear();
        mix.clear();
        let mut i = 0;
        wave.row(y, &mut |d, _| {
            if i % n == n - 1 {
                match d {
                    Dist::Probs(p) => {
                        *levels = p.len();
                        probs.extend_from_slice(p);
                    }
                    Dist::Mixture(m) => mix.push(m.rebind(edges.get_or_init(|| m.edges().to_vec()))),
                }
            }
            i += 1;
            Ok(())
        })?;
        (self.pixel, self.first) = (first, first);
        Ok(())
    }

    /// Whether every pixel kept has had its alpha (so the next pixel is the next row's).
    fn used_up(&self) -> bool {
        let kept = if self.mix.is_empty() {
            self.probs.len() / self.levels.max(1)
        } else {
            self.mix.len()
        };
        self.c == 0 && self.pixel - self.first == kept
    }

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
            let i = self.pixel - self.first;
            let a = match self.mix.get(i) {
                Some(m) => Dist::Mixture(m),
                None => Dist::Probs(&self.probs[i * self.levels..(i + 1) * self.levels]),
            };
            f(a, alpha_of(self.pixel))?;
            self.pixel += 1;
        }
        Ok(())
    }
}

/// One row of batch mode: the colour model's row, `alpha` adding each pixel's alpha after its
/// colour (it gets the function, then each colour sub-pixel's distribution and value).
struct SplitDists<'d, F> {
    colour: &'d mut dyn RowDists,
    alpha: F,
}

impl<F> RowDists for SplitDists<'_, F>
where
    F: FnMut(&mut dyn FnMut(Dist<'_>, u8) -> Result<()>, Dist<'_>, u8) -> Result<()>,
{
    fn for_each(&mut self, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>) -> Result<()> {
        let alpha = &mut self.alpha;
        self.colour.for_each(&mut |d, v| alpha(&mut *f, d, v))
    }
}

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
use crate::model::{ProbabilityModel, RowDists, RowModel, SequentialModel};
use crate::split_decode::{Split, SplitRows};

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
        let stride = width * (cc + 1);
        // Row y of the alpha model, every sub-pixel's distribution and value, to `f`: in batch
        // mode where it can, else from its sequential form (fed the rows in order).
        let wave = self.alpha.row_wave(arith, pixels, width, height, 1)?;
        let mut seq = wave.is_none().then(|| self.alpha.sequential(arith, width, height));
        let mut alpha_row = |y: usize, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>| match (&wave, &mut seq) {
            (Some(w), _) => w.row(y, f),
            (None, Some(seq)) => pixels[y * stride..(y + 1) * stride].iter().try_for_each(|&v| {
                f(seq.next_dist(), v)?;
                seq.push(v);
                Ok(())
            }),
            (None, None) => unreachable!("a wave or a sequential form"),
        };
        let (edges, mut kept, mut n) = (OnceLock::new(), Kept::new(cc), 0);
        self.colour.batch(arith, &colour, width, height, threads, &mut |d, v| {
            if n % (width * cc) == 0 {
                let y = n / (width * cc);
                kept.fill(&pixels[y * stride..(y + 1) * stride], |f| alpha_row(y, f), &edges)?;
            }
            n += 1;
            kept.step(sink, d, v)
        })
    }

    fn sequential<'a>(&'a self, arith: Arith, width: usize, height: usize) -> Box<dyn SequentialModel + 'a> {
        Box::new(Split {
            colour: self.colour.sequential(arith, width, height),
            alpha: self.alpha.sequential_only(arith, width, height, self.colour.channels()),
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
            alpha: self
                .alpha
                .rows_only(arith, (width, height, in_flight), self.colour.channels())?,
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
        self.colour
            .batch_rows(arith, &colour, width, height, threads, &|y, dists| {
                let mut kept = Kept::new(cc);
                let r = kept
                    .fill(&pixels[y * stride..(y + 1) * stride], |f| wave.row(y, f), &edges)
                    .and_then(|()| {
                        row(
                            y,
                            &mut SplitDists {
                                colour: dists,
                                kept: &mut kept,
                            },
                        )
                    });
                if r.is_err() {
                    // Rows below wait for this one: let them give up.
                    wave.abort();
                }
                r
            })
    }
}

/// The alpha model's distributions of one row's alpha sub-pixels, computed before the colour
/// model's row reaches them; `step` hands on the colour sub-pixels and, after each pixel's
/// colour, its alpha.
struct Kept<'a> {
    /// `levels` probabilities a pixel (a softmax head).
    probs: Vec<f32>,
    /// One distribution a pixel (a mixture head), reading the model's edges.
    mix: Vec<MixCdf<'a>>,
    levels: usize,
    /// The row's values (`cc + 1` a pixel).
    values: &'a [u8],
    cc: usize,
    /// The colour channel and the pixel next.
    c: usize,
    pixel: usize,
}

impl<'a> Kept<'a> {
    fn new(cc: usize) -> Self {
        Kept {
            probs: Vec::new(),
            mix: Vec::new(),
            levels: 0,
            values: &[],
            cc,
            c: 0,
            pixel: 0,
        }
    }

    /// Keeps the alpha distributions of the row of `values` that `source` hands its function
    /// (every sub-pixel's distribution and value, in order).
    fn fill(
        &mut self,
        values: &'a [u8],
        source: impl FnOnce(&mut dyn FnMut(Dist<'_>, u8) -> Result<()>) -> Result<()>,
        edges: &'a OnceLock<Vec<f32>>,
    ) -> Result<()> {
        let n = self.cc + 1;
        let (probs, mix, levels) = (&mut self.probs, &mut self.mix, &mut self.levels);
        probs.clear();
        mix.clear();
        let mut i = 0;
        source(&mut |d, _| {
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
        (self.values, self.c, self.pixel) = (values, 0, 0);
        Ok(())
    }

    /// Hands `f` the colour sub-pixel (`d`, `v`) and, after a pixel's last colour, its alpha.
    fn step(&mut self, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>, d: Dist<'_>, v: u8) -> Result<()> {
        f(d, v)?;
        self.c += 1;
        if self.c == self.cc {
            self.c = 0;
            let i = self.pixel;
            let a = match self.mix.get(i) {
                Some(m) => Dist::Mixture(m),
                None => Dist::Probs(&self.probs[i * self.levels..(i + 1) * self.levels]),
            };
            f(a, self.values[i * (self.cc + 1) + self.cc])?;
            self.pixel += 1;
        }
        Ok(())
    }
}

/// One row of batch mode: the colour model's row with the kept alpha interleaved.
struct SplitDists<'d, 'k, 'a> {
    colour: &'d mut dyn RowDists,
    kept: &'k mut Kept<'a>,
}

impl RowDists for SplitDists<'_, '_, '_> {
    fn for_each(&mut self, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>) -> Result<()> {
        let kept = &mut *self.kept;
        self.colour.for_each(&mut |d, v| kept.step(&mut *f, d, v))
    }
}

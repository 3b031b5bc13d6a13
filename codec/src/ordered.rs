//! The encoder's rows in order: each row's coding, worked out on the thread that computed it
//! ([`RowCoding`]), range-coded in row order into every substream layout being tried
//! ([`Ordered`]), plain and adaptive, and the trial layout stopped once it is not wanted. With
//! format version 8's lanes, a layout keeps a block's rows and codes each substream's in
//! [`crate::lanes::order`] once the block is complete.

use std::collections::BTreeMap;
use std::sync::Arc;

use constriction::stream::model::EncoderModel;
use constriction::stream::queue::DefaultRangeEncoder;
use constriction::stream::Encode;
use pixelrnn_model::Dist;

use crate::adaptive_coder::{AdaptiveCoder, Pipeline, Running};
use crate::error::{CodecError, Result};
use crate::lanes::{self, Spread};
use crate::options::EncodeOptions;
use crate::quantize::{Coded, Span, TOTAL};

/// One row's coding, worked out on the thread that computed the row.
pub(crate) struct RowCoding {
    pub(crate) y: usize,
    pub(crate) spans: Vec<Span>,
    model_bits: f64,
    quantised_bits: f64,
    /// Every sub-pixel's distribution (W·C × levels) for the adaptive coding, when it runs.
    tabs: Vec<f32>,
}

impl RowCoding {
    pub(crate) fn new(y: usize, row_len: usize, tabs: Vec<f32>) -> Self {
        RowCoding {
            y,
            spans: Vec::with_capacity(row_len),
            model_bits: 0.0,
            quantised_bits: 0.0,
            tabs,
        }
    }

    /// Sub-pixel `k` of the row, its distribution and value.
    pub(crate) fn push(&mut self, d: Dist<'_>, v: u8, levels: usize) -> Result<()> {
        let (k, v) = (self.spans.len(), v as usize);
        if !self.tabs.is_empty() {
            d.probs_into(&mut self.tabs[k * levels..(k + 1) * levels]);
        }
        let span = match d {
            Dist::Probs(p) => Span::of(p, v),
            Dist::Mixture(m) => {
                let (left, f) = Coded(m)
                    .left_cumulative_and_probability(v)
                    .ok_or_else(|| CodecError::BadParameter(format!("the mixture gives level {v} no probability")))?;
                Span(left, f)
            }
        };
        self.quantised_bits += span.bits();
        // A probability that underflowed to 0 in f32 still codes (at the quantiser's floor).
        self.model_bits -= d.prob(v).max(1.0 / TOTAL as f64).log2();
        self.spans.push(span);
        Ok(())
    }
}

/// One substream layout being coded: a range coder per substream for the plain coding, and the
/// adaptive coding (which has its own).
pub(crate) struct Layout<'s, 'a> {
    pub(crate) spread: Spread,
    /// (width, height, channels) of the coded raster.
    pub(crate) geometry: (usize, usize, usize),
    pub(crate) encs: Vec<DefaultRangeEncoder>,
    pub(crate) pipeline: Option<Pipeline<'s, 'a>>,
    /// The current block's rows so far (lanes only).
    pub(crate) block: Vec<Vec<Span>>,
}

impl<'s, 'a: 's> Layout<'s, 'a> {
    /// A layout of `spread` over a (width, height, channels) raster.
    pub(crate) fn new(spread: Spread, geometry: (usize, usize, usize), pipeline: Option<Pipeline<'s, 'a>>) -> Self {
        Layout {
            spread,
            geometry,
            encs: (0..spread.substreams).map(|_| DefaultRangeEncoder::new()).collect(),
            pipeline,
            block: Vec::new(),
        }
    }

    /// Codes row y's plain intervals (rows come in order): at once in raster order, or once its
    /// block is complete.
    fn code(&mut self, y: usize, spans: &[Span]) -> Result<()> {
        let encode = |enc: &mut DefaultRangeEncoder, span: Span| {
            enc.encode_symbol(0, span)
                .map_err(|e| CodecError::BadParameter(format!("range coder: {e}")))
        };
        let sp = self.spread;
        if sp.lanes == 1 {
            let enc = &mut self.encs[y % sp.substreams];
            return spans.iter().try_for_each(|&span| encode(enc, span));
        }
        self.block.push(spans.to_vec());
        let (_, height, ch) = self.geometry;
        let start = y - y % sp.block();
        if y + 1 < (start + sp.block()).min(height) {
            return Ok(());
        }
        for (s, enc) in self.encs.iter_mut().enumerate() {
            let block = &self.block;
            lanes::order(sp, self.geometry, start, s, |y, x, c| {
                encode(enc, block[y - start][x * ch + c])
            })?;
        }
        self.block.clear();
        Ok(())
    }

    /// Its spread, its plain coders, and its adaptive coding once every row is coded.
    pub(crate) fn finish(self) -> Result<(Spread, Vec<DefaultRangeEncoder>, Option<AdaptiveCoder<'a>>)> {
        Ok((self.spread, self.encs, self.pipeline.map(Pipeline::finish).transpose()?))
    }
}

/// The rows coded so far, in order, and those that came early. Every row goes to the spread
/// and, while it may still be wanted, to one substream ([`crate::encoder`]'s trial).
pub(crate) struct Ordered<'s, 'a> {
    pub(crate) next: usize,
    pub(crate) pending: BTreeMap<usize, RowCoding>,
    pub(crate) spread: Layout<'s, 'a>,
    /// One substream, while it may still be wanted.
    pub(crate) trial: Option<Layout<'s, 'a>>,
    /// The spread's adaptive coding so far.
    pub(crate) running: Option<Arc<Running>>,
    /// The trial's adaptive coding so far.
    pub(crate) trial_running: Option<Arc<Running>>,
    /// (base, margin, min_gain): the trial stops once the spread costs more than base + margin ×
    /// the part of the image still to code, in bits a sub-pixel, or once it has not gained
    /// min_gain by its mark row ([`crate::trial::gaining`]; None: no trial).
    pub(crate) bound: Option<(f64, f64, f64)>,
    /// Row buffers for the adaptive coding, for reuse.
    pub(crate) spare: Vec<Vec<f32>>,
    pub(crate) model_bits: f64,
    pub(crate) quantised_bits: f64,
    pub(crate) coded: u64,
}

impl<'s, 'a: 's> Ordered<'s, 'a> {
    /// Adds a finished row and codes every row that is now next in order.
    pub(crate) fn add(&mut self, row: RowCoding, opts: &EncodeOptions, total: u64) -> Result<()> {
        self.pending.insert(row.y, row);
        while let Some(r) = self.pending.remove(&self.next) {
            for layout in std::iter::once(&mut self.spread).chain(self.trial.as_mut()) {
                layout.code(r.y, &r.spans)?;
            }
            self.model_bits += r.model_bits;
            self.quantised_bits += r.quantised_bits;
            self.coded += r.spans.len() as u64;
            if let Some(p) = self.trial.as_mut().and_then(|t| t.pipeline.as_mut()) {
                let mut copy = self.spare.pop().unwrap_or_default();
                copy.clone_from(&r.tabs);
                self.spare.extend(p.row(r.y, copy)?);
            }
            if let Some(p) = self.spread.pipeline.as_mut() {
                self.spare.extend(p.row(r.y, r.tabs)?);
            }
            self.next += 1;
            if self.trial.is_some() && (self.trial_unwanted(total) || self.trial_losing()) {
                // Its thread ends once it has coded the rows it was sent.
                self.trial = None;
            }
            if let Some(p) = opts.progress {
                p(self.coded, total);
            }
        }
        Ok(())
    }

    /// Whether the spread costs more so far than the trial's [`Ordered::bound`].
    fn trial_unwanted(&self, total: u64) -> bool {
        let (Some((base, margin, _)), Some(rate)) = (self.bound, self.spread_rate(total)) else {
            return false;
        };
        rate > base + margin * (1.0 - self.coded as f64 / total as f64)
    }

    /// Whether the trial has not gained enough by its mark row ([`crate::trial::gaining`]).
    fn trial_losing(&self) -> bool {
        let (Some((_, _, min_gain)), Some(spread), Some(trial)) = (self.bound, &self.running, &self.trial_running)
        else {
            return false;
        };
        crate::trial::gaining(spread.mark(), trial.mark(), min_gain) == Some(false)
    }

    /// The spread's cost so far in bits a sub-pixel, the smaller of its plain and adaptive
    /// codings, once a sixteenth of the image is coded (a 32nd by the adaptive coding, which
    /// may lag a few rows behind on its thread).
    fn spread_rate(&self, total: u64) -> Option<f64> {
        if self.coded < total / 16 || self.coded == 0 {
            return None;
        }
        let plain = self.quantised_bits / self.coded as f64;
        let Some(running) = &self.running else {
            return Some(plain);
        };
        let (bits, n) = running.get();
        (n >= total / 32 && n > 0).then(|| plain.min(bits / n as f64))
    }
}

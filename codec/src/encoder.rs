//! The encoder's model path: the network's distributions a row at a time (rows side by side on
//! threads where the model allows, [`ProbabilityModel::batch_rows`]), each row's quantised
//! intervals taken on the thread that computed it, then every row range-coded in order into
//! its substream, beside the adaptive coding ([`crate::adaptive_coder`]). The bytes never
//! depend on the thread count.

use std::collections::BTreeMap;
use std::sync::Mutex;

use constriction::stream::model::EncoderModel;
use constriction::stream::queue::DefaultRangeEncoder;
use constriction::stream::Encode;
use pixelrnn_model::Dist;

use crate::adaptive_coder::{AdaptiveCoder, Pipeline};
use crate::container::{arith_of, Header, Mode, FLAG_ADAPTIVE, FLAG_OPAQUE_ALPHA};
use crate::driver::{EncodeOptions, Encoded};
use crate::error::{CodecError, Result};
use crate::image::Image;
use crate::model::ProbabilityModel;
use crate::quantize::{Coded, Span, TOTAL};

/// One row's coding, worked out on the thread that computed the row.
struct RowCoding {
    y: usize,
    spans: Vec<Span>,
    model_bits: f64,
    quantised_bits: f64,
    /// Every sub-pixel's distribution (W·C × levels) for the adaptive coding, when it runs.
    tabs: Vec<f32>,
}

impl RowCoding {
    fn new(y: usize, row_len: usize, tabs: Vec<f32>) -> Self {
        RowCoding {
            y,
            spans: Vec::with_capacity(row_len),
            model_bits: 0.0,
            quantised_bits: 0.0,
            tabs,
        }
    }

    /// Sub-pixel `k` of the row, its distribution and value.
    fn push(&mut self, d: Dist<'_>, v: u8, levels: usize) -> Result<()> {
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

/// The rows coded so far, in order, and those that came early.
struct Ordered<'s, 'a> {
    next: usize,
    pending: BTreeMap<usize, RowCoding>,
    encs: Vec<DefaultRangeEncoder>,
    pipeline: Option<Pipeline<'s, 'a>>,
    /// Row buffers for the adaptive coding, for reuse.
    spare: Vec<Vec<f32>>,
    model_bits: f64,
    quantised_bits: f64,
    coded: u64,
}

impl<'s, 'a: 's> Ordered<'s, 'a> {
    /// Adds a finished row and codes every row that is now next in order.
    fn add(&mut self, row: RowCoding, opts: &EncodeOptions, total: u64) -> Result<()> {
        self.pending.insert(row.y, row);
        while let Some(r) = self.pending.remove(&self.next) {
            let nsub = self.encs.len();
            let enc = &mut self.encs[r.y % nsub];
            for &span in &r.spans {
                enc.encode_symbol(0, span)
                    .map_err(|e| CodecError::BadParameter(format!("range coder: {e}")))?;
            }
            self.model_bits += r.model_bits;
            self.quantised_bits += r.quantised_bits;
            self.coded += r.spans.len() as u64;
            if let Some(p) = self.pipeline.as_mut() {
                let back = p.row(r.y, r.tabs)?;
                self.spare.push(back);
            }
            self.next += 1;
            if let Some(p) = opts.progress {
                p(self.coded, total);
            }
        }
        Ok(())
    }
}

/// What the plain coding produced.
struct Plain {
    encs: Vec<DefaultRangeEncoder>,
    model_bits: f64,
    quantised_bits: f64,
}

/// The model path of [`crate::encode`]: `coded` is the image's raster without a dropped alpha
/// channel. Version 3 on, the rows are spread over `opts.substreams` substreams, or by default
/// over [`crate::substreams::choose`]'s, unless one substream is [`clearly_smaller`].
pub(crate) fn encode_model(
    image: &Image,
    coded: &[u8],
    coded_channels: u8,
    model: &dyn ProbabilityModel,
    opts: &EncodeOptions,
) -> Result<Encoded> {
    check(coded, coded_channels, model)?;
    let height = image.height as usize;
    // Version 3: rows spread over substreams (row y in y mod S); earlier versions: one stream.
    let nsub = if opts.version >= 3 {
        crate::substreams::choose_or(opts.substreams, height, model.raster_order())?
    } else {
        1
    };
    let spread = encode_rows(image, coded, coded_channels, model, opts, nsub)?;
    if opts.substreams.is_some() || nsub == 1 || spread.header.bits_per_subpixel() >= ONE_BELOW {
        return Ok(spread);
    }
    let one = encode_rows(image, coded, coded_channels, model, opts, 1)?;
    Ok(if clearly_smaller(one.header.payload_len, spread.header.payload_len) {
        one
    } else {
        spread
    })
}

/// The encoder's default tries one substream as well where the spread rows cost under this
/// many bits per sub-pixel: screenshots, clip art and renders, where each substream learning its
/// statistics and its context stage from every S-th row only costs up to 9 % (`varied`); photos
/// cost 1.5 to 4.5 and gain under 0.5 %.
const ONE_BELOW: f64 = 2.0;

/// Whether `a` bytes are at least 1 % fewer than `b`: what a payload must save to be kept over
/// one that decodes faster (one substream over several, the model coding over a coding without
/// a model).
pub(crate) fn clearly_smaller(a: u64, b: u64) -> bool {
    u128::from(a) * 100 <= u128::from(b) * 99
}

/// [`encode_model`] over `nsub` substreams.
fn encode_rows(
    image: &Image,
    coded: &[u8],
    coded_channels: u8,
    model: &dyn ProbabilityModel,
    opts: &EncodeOptions,
    nsub: usize,
) -> Result<Encoded> {
    let dropped = coded_channels != image.channels;
    let (width, height) = (image.width as usize, image.height as usize);
    let total = coded.len() as u64;
    let row_len = width * coded_channels as usize;
    let levels = model.levels();
    // The adaptive coding runs beside the plain one, a row at a time (on its own thread when
    // there are two); the smaller stream is kept.
    let adapt = opts.version >= 2 && opts.adapt && model.raster_order();
    let tab_len = if adapt { row_len * levels } else { 0 };
    let arith = arith_of(opts.version);
    let (ordered, adaptive) = std::thread::scope(|scope| -> Result<_> {
        let ordered = Mutex::new(Ordered {
            next: 0,
            pending: BTreeMap::new(),
            encs: (0..nsub).map(|_| DefaultRangeEncoder::new()).collect(),
            pipeline: adapt.then(|| {
                let coder = AdaptiveCoder::new(
                    opts.version,
                    coded,
                    (width, height, coded_channels as usize, levels),
                    nsub,
                );
                Pipeline::start(scope, coder, opts.threads > 1)
            }),
            spare: Vec::new(),
            model_bits: 0.0,
            quantised_bits: 0.0,
            coded: 0,
        });
        let lock = || ordered.lock().unwrap_or_else(|e| e.into_inner());
        let buffer = || {
            let mut b = lock().spare.pop().unwrap_or_default();
            b.resize(tab_len, 0.0);
            b
        };
        let row = |y: usize, dists: &mut dyn crate::model::RowDists| -> Result<()> {
            let mut r = RowCoding::new(y, row_len, buffer());
            dists.for_each(&mut |d, v| r.push(d, v, levels))?;
            lock().add(r, opts, total)
        };
        let rows = model.batch_rows(arith, coded, width, height, opts.threads, &row);
        if let Some(done) = rows {
            done?;
        } else {
            // Models without a row form: the sub-pixels in coding order, cut into rows.
            let mut r = RowCoding::new(0, row_len, buffer());
            model.batch(arith, coded, width, height, opts.threads, &mut |d, v| {
                r.push(d, v, levels)?;
                if r.spans.len() == row_len {
                    let next = RowCoding::new(r.y + 1, row_len, buffer());
                    lock().add(std::mem::replace(&mut r, next), opts, total)?;
                }
                Ok(())
            })?;
        }
        let o = ordered.into_inner().unwrap_or_else(|e| e.into_inner());
        if o.coded != total || !o.pending.is_empty() {
            return Err(CodecError::BadParameter(format!(
                "the model gave {} distributions for {total} sub-pixels",
                o.coded
            )));
        }
        let adaptive = o.pipeline.map(Pipeline::finish).transpose()?;
        Ok((
            Plain {
                encs: o.encs,
                model_bits: o.model_bits,
                quantised_bits: o.quantised_bits,
            },
            adaptive,
        ))
    })?;
    let payload_of = |encs: Vec<DefaultRangeEncoder>| -> Result<Vec<u8>> {
        let mut streams = Vec::with_capacity(encs.len());
        for e in encs {
            let w = e
                .into_compressed()
                .map_err(|e| CodecError::BadParameter(format!("range coder: {e:?}")))?;
            streams.push(w);
        }
        Ok(if opts.version >= 3 {
            crate::substreams::join(&streams)?
        } else {
            streams[0].iter().flat_map(|w| w.to_le_bytes()).collect()
        })
    };
    let mut payload = payload_of(ordered.encs)?;
    let plain_len = payload.len() as u64;
    let mut adapt_stats = None;
    let mut adapted = false;
    if let Some(coder) = adaptive {
        let (stats, enc2) = coder.finish();
        let p2 = payload_of(enc2)?;
        adapt_stats = Some((stats, p2.len() as u64));
        if p2.len() < payload.len() {
            (payload, adapted) = (p2, true);
        }
    }
    let header = Header {
        version: opts.version,
        mode: Mode::Model,
        builtin: pixelrnn_model::defaults::builtin_index(&model.id()),
        flags: if dropped { FLAG_OPAQUE_ALPHA } else { 0 } | if adapted { FLAG_ADAPTIVE } else { 0 },
        channels: image.channels,
        coded_channels,
        levels: model.levels() as u16,
        width: image.width,
        height: image.height,
        model_id: model.id(),
        pixel_crc: image.crc(),
        payload_len: payload.len() as u64,
    };
    let mut bytes = header.to_bytes();
    bytes.extend_from_slice(&payload);
    Ok(Encoded {
        bytes,
        header,
        model_bits: ordered.model_bits,
        quantised_bits: ordered.quantised_bits,
        candidates: (Some(plain_len), None, None),
        adapt: adapt_stats,
    })
}

/// The image fits the model: channels, levels and values.
fn check(coded: &[u8], coded_channels: u8, model: &dyn ProbabilityModel) -> Result<()> {
    if model.channels() != coded_channels as usize {
        return Err(CodecError::ModelMismatch(format!(
            "the image has {} coded channel(s) but the model {} has {}",
            coded_channels,
            crate::driver::short_id(&model.id()),
            model.channels()
        )));
    }
    if model.levels() > 256 || model.levels() < 2 {
        return Err(CodecError::BadParameter(format!(
            "model with {} levels",
            model.levels()
        )));
    }
    if let Some(&v) = coded.iter().find(|&&v| v as usize >= model.levels()) {
        return Err(CodecError::ModelMismatch(format!(
            "the image has the value {v} but the model codes only {} levels",
            model.levels()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::clearly_smaller;

    #[test]
    fn clearly_smaller_is_one_percent() {
        assert!(clearly_smaller(99, 100));
        assert!(!clearly_smaller(100, 100));
        assert!(!clearly_smaller(991, 1000));
        assert!(clearly_smaller(990, 1000));
        assert!(!clearly_smaller(u64::MAX, u64::MAX));
        assert!(clearly_smaller(0, 1));
    }
}

//! The encoder's model path: the network's distributions a row at a time (rows side by side on
//! threads where the model allows, [`ProbabilityModel::batch_rows`]), each row's quantised
//! intervals taken on the thread that computed it, then every row range-coded in order into
//! its substream ([`crate::ordered`]), beside the adaptive coding ([`crate::adaptive_coder`]);
//! the default's choice between the spread and one substream. The bytes never depend on the
//! thread count.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use constriction::stream::queue::DefaultRangeEncoder;

use crate::adaptive_coder::{AdaptiveCoder, Pipeline, Running};
use crate::container::{arith_of, Header, Mode, FLAG_ADAPTIVE, FLAG_OPAQUE_ALPHA, FLAG_PHASES};
use crate::error::{CodecError, Result};
use crate::image::Image;
use crate::lanes::{Spread, BLOCK};
use crate::model::ProbabilityModel;
use crate::options::{EncodeOptions, Encoded};
use crate::ordered::{Layout, Ordered, RowCoding};
use crate::trial::{clearly_smaller, gaining, mark_row, MARGIN, MIN_GAIN, ONE_BELOW};

/// The model path of [`crate::encode`]: `coded` is the image's raster without a dropped alpha
/// channel. Version 3 on, the rows are spread over `opts.substreams` substreams, or by default
/// over [`crate::substreams::choose`]'s, unless one substream is [`clearly_smaller`]. The
/// spread's adaptive coding reports its cost to `running` ([`spread_running`]) where given.
pub(crate) fn encode_model(
    image: &Image,
    coded: &[u8],
    coded_channels: u8,
    model: &dyn ProbabilityModel,
    opts: &EncodeOptions,
    running: Option<Arc<Running>>,
) -> Result<Encoded> {
    encode_model_with(image, coded, coded_channels, model, opts, (MARGIN, MIN_GAIN), running)
}

/// Whether the model path runs the adaptive coding beside the plain one.
pub(crate) fn adapts(opts: &EncodeOptions, model: &dyn ProbabilityModel) -> bool {
    opts.version >= 2 && opts.adapt && model.raster_order()
}

/// What the spread's adaptive coding in [`encode_model`] reports its cost to, marking the row
/// that [`encode_rows`] marks, for a coding beside it (the context coding, [`crate::context`]).
pub(crate) fn spread_running(version: u8, height: usize) -> Arc<Running> {
    Arc::new(Running::new(mark_of(version, height)))
}

/// The row whose cost the layouts are compared at: [`mark_row`], the end of its block of
/// lanes in version 8 on.
fn mark_of(version: u8, height: usize) -> usize {
    if version >= 8 {
        (mark_row(height) / BLOCK * BLOCK + BLOCK - 1).min(height.max(1) - 1)
    } else {
        mark_row(height)
    }
}

/// [`encode_model`], the one-substream trial coded beside the spread until the spread costs more
/// than [`ONE_BELOW`] plus `margin` (times the part of the image still to code) bits a
/// sub-pixel (then, if the spread ends below [`ONE_BELOW`] after all, in a second pass), or
/// until it has not gained `min_gain` by [`mark_row`] ([`gaining`]). Either way the file is the
/// one that [`ONE_BELOW`], [`gaining`] and [`clearly_smaller`] choose.
fn encode_model_with(
    image: &Image,
    coded: &[u8],
    coded_channels: u8,
    model: &dyn ProbabilityModel,
    opts: &EncodeOptions,
    (margin, min_gain): (f64, f64),
    running: Option<Arc<Running>>,
) -> Result<Encoded> {
    check(coded, coded_channels, model)?;
    let height = image.height as usize;
    // Version 3: rows spread over substreams (row y in y mod S); earlier versions: one stream.
    let nsub = if opts.version >= 3 {
        crate::substreams::choose_or(opts.substreams, height, model.raster_order())?
    } else {
        1
    };
    let sources = Sources {
        image,
        coded,
        coded_channels,
        model,
        opts,
    };
    // Version 8: lanes where the model has a row form, in the trial's one substream too (8
    // lanes: on `varied`, 17 images smaller by up to 3.8 % than in raster order, 5 larger by
    // up to 1.1 %, and decoding faster).
    let spread = spread_of(&sources, nsub);
    if opts.substreams.is_some() || nsub == 1 {
        return Ok(encode_rows(&sources, spread, None, running)?.spread);
    }
    let first = encode_rows(&sources, spread, Some((margin, min_gain)), running)?;
    let spread = first.spread;
    let losing = |one_mark| gaining(first.spread_mark, one_mark, min_gain) == Some(false);
    if spread.header.bits_per_subpixel() >= ONE_BELOW || losing(first.trial_mark) {
        return Ok(spread);
    }
    let one = match first.trial {
        Some(one) => one,
        None => {
            // The trial stopped before its mark, or after it still gaining: coded again, it
            // meets the same rule.
            let again = encode_rows(&sources, spread_of(&sources, 1), None, None)?;
            if losing(again.spread_mark) {
                return Ok(spread);
            }
            again.spread
        }
    };
    Ok(if clearly_smaller(one.header.payload_len, spread.header.payload_len) {
        one
    } else {
        spread
    })
}

/// What [`encode_rows`] codes, and how.
struct Sources<'a, 'o> {
    image: &'a Image,
    coded: &'a [u8],
    coded_channels: u8,
    model: &'a dyn ProbabilityModel,
    opts: &'a EncodeOptions<'o>,
}

/// What [`encode_rows`] coded: the spread; the trial, unless it stopped; and their adaptive
/// codings' bits at [`mark_row`] (None without the adaptive coding, or for a trial that
/// stopped before it).
struct Rows {
    spread: Encoded,
    trial: Option<Encoded>,
    spread_mark: Option<f64>,
    trial_mark: Option<f64>,
}

/// The model path spread as `spread` and, with `trial` (a [`MARGIN`] and a [`MIN_GAIN`]),
/// over one substream as well (with its lanes in version 8), from the same network pass,
/// unless the trial stopped. The spread's adaptive coding reports to `running` where given (a
/// [`spread_running`] of this image).
fn encode_rows(
    src: &Sources,
    spread: Spread,
    trial: Option<(f64, f64)>,
    running: Option<Arc<Running>>,
) -> Result<Rows> {
    let Sources {
        image,
        coded,
        coded_channels,
        model,
        opts,
    } = *src;
    let (width, height) = (image.width as usize, image.height as usize);
    let total = coded.len() as u64;
    let row_len = width * coded_channels as usize;
    let levels = model.levels();
    // The adaptive coding runs beside the plain one, a row at a time (on its own thread when
    // there are two); the smaller stream is kept.
    let adapt = adapts(opts, model);
    let tab_len = if adapt { row_len * levels } else { 0 };
    let arith = arith_of(opts.version);
    // Version 8 compares the layouts at the end of a block of lanes.
    let mark = mark_of(opts.version, height);
    debug_assert!(running.as_ref().is_none_or(|r| r.mark_row() == mark));
    let running = adapt.then(|| running.unwrap_or_else(|| Arc::new(Running::new(mark))));
    let trial_running = (adapt && trial.is_some()).then(|| Arc::new(Running::new(mark)));
    let (bits, spread, tried) = std::thread::scope(|scope| -> Result<_> {
        let layout = |spread: Spread, running: Option<&Arc<Running>>| {
            let pipeline = adapt.then(|| {
                let geometry = (width, height, coded_channels as usize, levels);
                let mut coder = AdaptiveCoder::new(opts.version, coded, geometry, spread).with_threads(opts.threads);
                if let Some(r) = running {
                    coder = coder.with_running(r.clone());
                }
                Pipeline::start(scope, coder, opts.threads > 1)
            });
            Layout::new(spread, (width, height, coded_channels as usize), pipeline)
        };
        let ordered = Mutex::new(Ordered {
            next: 0,
            pending: BTreeMap::new(),
            spread: layout(spread, running.as_ref()),
            trial: trial.map(|_| layout(spread_of(src, 1), trial_running.as_ref())),
            running: running.clone(),
            trial_running: trial_running.clone(),
            bound: trial.map(|(margin, min_gain)| (ONE_BELOW, margin, min_gain)),
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
        let tried = o.trial.map(Layout::finish).transpose()?;
        Ok(((o.model_bits, o.quantised_bits), o.spread.finish()?, tried))
    })?;
    let spread = assemble(src, spread, bits)?;
    let tried = tried.map(|layout| assemble(src, layout, bits)).transpose()?;
    let mark = |r: &Option<Arc<Running>>| r.as_ref().and_then(|r| r.mark());
    Ok(Rows {
        spread,
        trial: tried,
        spread_mark: mark(&running),
        trial_mark: mark(&trial_running),
    })
}

/// One layout's file: the plain payload, or the adaptive one where smaller; `bits`: the
/// network's and the quantised distributions' cost (as [`Encoded`]).
/// The spread of `nsub` substreams in `src`'s format version: version 8 adds lanes to models
/// with a row form ([`Spread::choose`]).
fn spread_of(src: &Sources, nsub: usize) -> Spread {
    if src.opts.version >= 8 {
        Spread::choose(nsub, src.model.row_lag())
    } else {
        Spread::raster(nsub)
    }
}

fn assemble(
    src: &Sources,
    (spread, encs, adaptive): (Spread, Vec<DefaultRangeEncoder>, Option<AdaptiveCoder>),
    bits: (f64, f64),
) -> Result<Encoded> {
    let (image, opts, model) = (src.image, src.opts, src.model);
    let payload_of = |encs: Vec<DefaultRangeEncoder>| -> Result<Vec<u8>> {
        let mut streams = Vec::with_capacity(encs.len());
        for e in encs {
            let w = e
                .into_compressed()
                .map_err(|e| CodecError::BadParameter(format!("range coder: {e:?}")))?;
            streams.push(w);
        }
        Ok(if opts.version >= 3 {
            crate::substreams::join(&streams, (opts.version >= 8).then_some(spread))?
        } else {
            streams[0].iter().flat_map(|w| w.to_le_bytes()).collect()
        })
    };
    let mut payload = payload_of(encs)?;
    let plain_len = payload.len() as u64;
    let mut adapt_stats = None;
    let (mut adapted, mut phased) = (false, false);
    if let Some(coder) = adaptive {
        let (stats, enc2, phases) = coder.finish();
        let p2 = payload_of(enc2)?;
        adapt_stats = Some((stats, p2.len() as u64));
        if p2.len() < payload.len() {
            (payload, adapted, phased) = (p2, true, phases);
        }
    }
    let dropped = src.coded_channels != image.channels;
    let header = Header {
        version: opts.version,
        mode: Mode::Model,
        builtin: pixelrnn_model::defaults::builtin_index(&model.id()),
        flags: if dropped { FLAG_OPAQUE_ALPHA } else { 0 }
            | if adapted { FLAG_ADAPTIVE } else { 0 }
            | if phased { FLAG_PHASES } else { 0 },
        channels: image.channels,
        coded_channels: src.coded_channels,
        levels: model.levels() as u16,
        width: image.width,
        height: image.height,
        model_id: model.id(),
        pixel_crc: image.crc(),
        payload_len: payload.len() as u64,
        metadata: opts.metadata.to_vec(),
    };
    let mut bytes = header.to_bytes();
    bytes.extend_from_slice(&payload);
    Ok(Encoded {
        bytes,
        header,
        model_bits: bits.0,
        quantised_bits: bits.1,
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
            crate::options::short_id(&model.id()),
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
#[path = "encoder_tests.rs"]
mod tests;

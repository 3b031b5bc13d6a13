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
use crate::container::{arith_of, Header, Mode, FLAG_ADAPTIVE, FLAG_OPAQUE_ALPHA};
use crate::driver::{EncodeOptions, Encoded};
use crate::error::{CodecError, Result};
use crate::image::Image;
use crate::model::ProbabilityModel;
use crate::ordered::{Layout, Ordered, RowCoding};

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
    encode_model_with(image, coded, coded_channels, model, opts, MARGIN)
}

/// [`encode_model`], the one-substream trial coded beside the spread until the spread costs more
/// than [`ONE_BELOW`] plus `margin` (times the part of the image still to code) bits a
/// sub-pixel (then, if the spread ends below [`ONE_BELOW`] after all, in a second pass). Either
/// way the file is the one [`ONE_BELOW`] and [`clearly_smaller`] choose.
fn encode_model_with(
    image: &Image,
    coded: &[u8],
    coded_channels: u8,
    model: &dyn ProbabilityModel,
    opts: &EncodeOptions,
    margin: f64,
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
    if opts.substreams.is_some() || nsub == 1 {
        return Ok(encode_rows(&sources, nsub, None)?.0);
    }
    let (spread, one) = encode_rows(&sources, nsub, Some(margin))?;
    if spread.header.bits_per_subpixel() >= ONE_BELOW {
        return Ok(spread);
    }
    let one = match one {
        Some(one) => one,
        None => encode_rows(&sources, 1, None)?.0,
    };
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

/// The one-substream trial runs beside the spread (sharing the network's pass) until, from a
/// sixteenth of the image on, the spread has cost more than [`ONE_BELOW`] plus this margin
/// times the part of the image still to code, in bits a sub-pixel: the margin narrows as the
/// estimate firms up, so photos stop the trial after a sixteenth and images ending just above
/// [`ONE_BELOW`] soon after; the rest of the trial's adaptive coding is saved. Where the spread
/// ends below [`ONE_BELOW`] after all, a second pass codes the trial.
const MARGIN: f64 = 0.5;

/// Whether `a` bytes are at least 1 % fewer than `b`: what a payload must save to be kept over
/// one that decodes faster (one substream over several, the model coding over a coding without
/// a model).
pub(crate) fn clearly_smaller(a: u64, b: u64) -> bool {
    u128::from(a) * 100 <= u128::from(b) * 99
}

/// What [`encode_rows`] codes, and how.
struct Sources<'a, 'o> {
    image: &'a Image,
    coded: &'a [u8],
    coded_channels: u8,
    model: &'a dyn ProbabilityModel,
    opts: &'a EncodeOptions<'o>,
}

/// The model path over `nsub` substreams and, with `trial` (a [`MARGIN`]), over one
/// substream as well, from the same network pass, unless the trial stopped.
fn encode_rows(src: &Sources, nsub: usize, trial: Option<f64>) -> Result<(Encoded, Option<Encoded>)> {
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
    let adapt = opts.version >= 2 && opts.adapt && model.raster_order();
    let tab_len = if adapt { row_len * levels } else { 0 };
    let arith = arith_of(opts.version);
    let running = adapt.then(|| Arc::new(Running::default()));
    let (bits, spread, tried) = std::thread::scope(|scope| -> Result<_> {
        let layout = |n: usize, running: Option<&Arc<Running>>| Layout {
            encs: (0..n).map(|_| DefaultRangeEncoder::new()).collect(),
            pipeline: adapt.then(|| {
                let mut coder =
                    AdaptiveCoder::new(opts.version, coded, (width, height, coded_channels as usize, levels), n);
                if let Some(r) = running {
                    coder = coder.with_running(r.clone());
                }
                Pipeline::start(scope, coder, opts.threads > 1)
            }),
        };
        let ordered = Mutex::new(Ordered {
            next: 0,
            pending: BTreeMap::new(),
            spread: layout(nsub, running.as_ref()),
            trial: trial.map(|_| layout(1, None)),
            running: running.clone(),
            bound: trial.map(|margin| (ONE_BELOW, margin)),
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
    let spread = assemble(src, spread.0, spread.1, bits)?;
    let tried = tried
        .map(|(encs, adaptive)| assemble(src, encs, adaptive, bits))
        .transpose()?;
    Ok((spread, tried))
}

/// One layout's file: the plain payload, or the adaptive one where smaller; `bits`: the
/// network's and the quantised distributions' cost (as [`Encoded`]).
fn assemble(
    src: &Sources,
    encs: Vec<DefaultRangeEncoder>,
    adaptive: Option<AdaptiveCoder>,
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
            crate::substreams::join(&streams)?
        } else {
            streams[0].iter().flat_map(|w| w.to_le_bytes()).collect()
        })
    };
    let mut payload = payload_of(encs)?;
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
    let dropped = src.coded_channels != image.channels;
    let header = Header {
        version: opts.version,
        mode: Mode::Model,
        builtin: pixelrnn_model::defaults::builtin_index(&model.id()),
        flags: if dropped { FLAG_OPAQUE_ALPHA } else { 0 } | if adapted { FLAG_ADAPTIVE } else { 0 },
        channels: image.channels,
        coded_channels: src.coded_channels,
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
    use super::{clearly_smaller, encode_model, encode_model_with, ONE_BELOW};
    use crate::driver::{EncodeOptions, ModeChoice};
    use crate::image::Image;
    use crate::mock::Mock;

    /// 520 rows (two substreams by default) of 24 pixels: `flat` a pattern that repeats every
    /// 8 rows (under 2 bits a sub-pixel with the adaptive coding only), else noise.
    fn image(flat: bool) -> Image {
        let px = (0..24 * 520u32)
            .map(|i| {
                let (x, y) = (i % 24, i / 24);
                if flat {
                    [16, 16, 17, 16, 20, 16, 16, 18][((x * 5 + y) % 8) as usize]
                } else {
                    let h = (i ^ (i >> 7)).wrapping_mul(0x7feb_352d);
                    let h = (h ^ (h >> 15)).wrapping_mul(0x846c_a68b);
                    (h ^ (h >> 16)) as u8
                }
            })
            .collect();
        Image::new(24, 520, 1, px).unwrap()
    }

    /// The one-substream trial shares the spread's network pass and gives the file that two
    /// separate passes and the rule (spread under [`ONE_BELOW`], one [`clearly_smaller`]) give,
    /// whether it ran to the end or stopped early (a second pass where the rule needs it).
    #[test]
    fn the_trial_shares_the_pass_and_chooses_as_two_passes_would() {
        let m = Mock {
            channels: 1,
            levels: 256,
            id: [1; 32],
        };
        for flat in [true, false] {
            let img = image(flat);
            for (adapt, threads) in [(true, 1), (true, 2), (false, 2)] {
                let opts = |substreams| EncodeOptions {
                    mode: ModeChoice::Model,
                    adapt,
                    threads,
                    substreams,
                    ..Default::default()
                };
                let run = |substreams, stop| {
                    let o = opts(substreams);
                    encode_model_with(&img, &img.pixels, 1, &m, &o, stop).unwrap()
                };
                let (spread, one) = (run(Some(2), 0.0), run(Some(1), 0.0));
                let cheap = spread.header.bits_per_subpixel() < ONE_BELOW;
                assert_eq!(
                    cheap,
                    flat && adapt,
                    "flat {flat}, adapt {adapt}: {}",
                    spread.header.bits_per_subpixel()
                );
                let chosen = clearly_smaller(one.header.payload_len, spread.header.payload_len);
                let expect = if cheap && chosen { &one } else { &spread };
                if flat && adapt {
                    assert!(
                        chosen,
                        "the test needs one substream to win: {} against {}",
                        one.header.payload_len, spread.header.payload_len
                    );
                }
                let what = format!("flat {flat}, adapt {adapt}, {threads} thread(s)");
                let shared = encode_model(&img, &img.pixels, 1, &m, &opts(None)).unwrap();
                assert_eq!(shared.bytes, expect.bytes, "{what}");
                assert_eq!(
                    run(None, f64::INFINITY).bytes,
                    expect.bytes,
                    "{what}: the trial to the end"
                );
                assert_eq!(run(None, -99.0).bytes, expect.bytes, "{what}: the trial stopped");
                assert_eq!(shared.model_bits, spread.model_bits, "{what}");
            }
        }
    }

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

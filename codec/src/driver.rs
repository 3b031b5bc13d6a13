//! Encoder and decoder drivers: image ⇄ `.prnn` bytes through a [`ProbabilityModel`].

use constriction::stream::queue::DefaultRangeDecoder;
use pixelrnn_model::id_hex;

use crate::adapt::AdaptStats;
use crate::adapter::Adapter;
use crate::classical::Ranked;
use crate::container::{arith_of, Header, Limits, Mode, FLAG_OPAQUE_ALPHA, VERSION};
use crate::context::{Beside, ContextCoded};
use crate::error::{CodecError, Result};
use crate::image::Image;
use crate::lanes::Spread;
use crate::model::ProbabilityModel;
use crate::signal::{Closes, Signal};
use crate::symbols::Symbols;
use crate::trial::context_behind;

/// Progress callback: (sub-pixels done, sub-pixels in all).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Which coding the encoder uses (format version 2; version 1 always codes with the model).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeChoice {
    /// The smaller of the model's stream and the classical one (the default).
    Auto,
    /// The model only.
    Model,
    /// The classical path only (fast; needs no model to decode).
    Classical,
    /// The context model only (format version 6; needs no model to decode).
    Context,
}

/// How to encode.
#[derive(Clone, Copy)]
pub struct EncodeOptions<'a> {
    /// Worker threads for the model's batch mode (results do not depend on it).
    pub threads: usize,
    /// Code an all-255 alpha channel as a header flag instead of coding it.
    pub drop_opaque_alpha: bool,
    pub progress: Option<Progress<'a>>,
    /// Format version to write (1 to [`crate::VERSION`]).
    pub version: u8,
    pub mode: ModeChoice,
    /// Version 2: also code with the adaptive mixture ([`crate::adapt`]) and keep it when smaller.
    pub adapt: bool,
    /// Version 3 and later, the model coding: the substreams to spread the rows over, i.e. the
    /// most threads the file decodes on (1 to [`crate::substreams::MAX_SUBSTREAMS`], at most
    /// one per row); None: the encoder's choice ([`crate::substreams::choose`]).
    pub substreams: Option<usize>,
}

impl Default for EncodeOptions<'_> {
    fn default() -> Self {
        EncodeOptions {
            threads: 1,
            drop_opaque_alpha: true,
            progress: None,
            version: VERSION,
            mode: ModeChoice::Auto,
            adapt: true,
            substreams: None,
        }
    }
}

/// How to decode.
#[derive(Clone, Copy, Default)]
pub struct DecodeOptions<'a> {
    pub limits: Limits,
    pub progress: Option<Progress<'a>>,
    /// Threads for decoding format version 3's substreams side by side (0 or 1: one; the
    /// output never depends on it; models that cannot decode rows side by side use one).
    pub threads: usize,
}

/// An encoded file with the statistics the CLI reports.
#[derive(Clone, Debug)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub header: Header,
    /// Σ −log2 p over coded sub-pixels under the model's f32 probabilities (p floored at 2^−24,
    /// the smallest quantised probability).
    pub model_bits: f64,
    /// Σ −log2 of the quantised probabilities (what an ideal coder would spend).
    pub quantised_bits: f64,
    /// Payload bytes of each path tried: (model without adaptation, classical, context); None
    /// where not tried, for the classical one where it could not be kept (its final
    /// compression is skipped then), and for the context one where it stopped far behind the
    /// model's ([`crate::trial::CONTEXT_BEHIND`]); [`Encoded::adapt`] has the adaptive one.
    pub candidates: (Option<u64>, Option<u64>, Option<u64>),
    /// The adaptive coding's statistics and payload bytes, when it ran (whether or not kept).
    pub adapt: Option<(AdaptStats, u64)>,
}

/// How often progress is reported, in sub-pixels.
const PROGRESS_EVERY: u64 = 1 << 12;

/// Encodes `image` with `model` (the model must have as many channels as are coded) and/or the
/// classical path, as `opts.mode` says, keeping the smaller payload (the model's only when it is
/// at least 1 % smaller: see `keeps`).
pub fn encode(image: &Image, model: &dyn ProbabilityModel, opts: &EncodeOptions) -> Result<Encoded> {
    if !(1..=VERSION).contains(&opts.version) {
        return Err(CodecError::BadParameter(format!(
            "format version {} (this build writes 1 to {VERSION})",
            opts.version
        )));
    }
    let mode = match (opts.version, opts.mode) {
        (1, _) => ModeChoice::Model,
        (2..=5, ModeChoice::Context) => {
            return Err(CodecError::BadParameter(format!(
                "context coding needs format version 6 or later (asked for {})",
                opts.version
            )))
        }
        (_, m) => m,
    };
    let coded_channels = image.coded_channels(opts.drop_opaque_alpha);
    let dropped = coded_channels != image.channels;
    let coded: std::borrow::Cow<[u8]> = if dropped {
        image.without_alpha().into()
    } else {
        (&image.pixels[..]).into()
    };
    let geometry = (
        image.width as usize,
        image.height as usize,
        coded_channels as usize,
        model.levels(),
    );
    let context_on = mode == ModeChoice::Context || mode == ModeChoice::Auto && opts.version >= 6;
    // The context coding reports progress only when it is the only path.
    let context_progress = if mode == ModeChoice::Context {
        opts.progress
    } else {
        None
    };
    // In auto mode the context coding runs beside the model's, waits at the mark row for the
    // spread's adaptive coding to reach it, and stops where it is `context_behind` it there
    // (the rule is applied again below): the file does not depend on the timing.
    let beside = (mode == ModeChoice::Auto && context_on && crate::encoder::adapts(opts, model)).then(|| Beside {
        model: crate::encoder::spread_running(opts.version, geometry.1),
        stopped: Signal::new(),
    });
    // Beside the model's coding, the classical one waits for the context coding's verdict at
    // the mark row and is not even ranked where the context coding stopped there, far behind
    // the model's: on the photos and `varied` it was never smaller than the context coding.
    let classical = || {
        if beside.as_ref().and_then(|b| b.stopped.wait()) == Some(true) {
            return None;
        }
        Some(crate::classical::rank(&coded, geometry.0, geometry.1, geometry.2))
    };
    let context = || -> Result<Option<ContextCoded>> {
        if !context_on {
            return Ok(None);
        }
        crate::context::encode(&coded, geometry, context_progress, beside.as_ref()).map(Some)
    };
    let model_path = || {
        // However it ends, the context coding does not wait for it any longer.
        let _closes = Closes(beside.as_ref().map(|b| &b.model.mark));
        crate::encoder::encode_model(
            image,
            &coded,
            coded_channels,
            model,
            opts,
            beside.as_ref().map(|b| b.model.clone()),
        )
    };
    // Every path asked for; with threads, the classical and context ones on threads of their
    // own beside the model's (the bytes are the same).
    // The classical coding is ranked beside them and finished once their sizes show it could
    // be kept (`could_keep`).
    let (model_enc, ranked, context_coded): (Option<Encoded>, Option<Ranked>, Option<ContextCoded>) = match mode {
        ModeChoice::Model => (Some(model_path()?), None, None),
        ModeChoice::Classical => (None, classical(), None),
        ModeChoice::Context => (None, None, context()?),
        ModeChoice::Auto if opts.threads > 1 => std::thread::scope(|s| {
            let c = s.spawn(classical);
            let x = s.spawn(context);
            let m = model_path();
            let c = c.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            let x = x.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            Ok::<_, CodecError>((Some(m?), c, x?))
        })?,
        ModeChoice::Auto => {
            // In this order: the classical coding waits for the context coding's verdict.
            let m = model_path()?;
            let x = context()?;
            (Some(m), classical(), x)
        }
    };
    let model_mark = beside.as_ref().and_then(|b| b.model.mark());
    let context_payload = context_coded
        .filter(|c| !context_behind(model_mark, c.mark_bits))
        .and_then(|c| c.payload);
    let classical_payload = ranked.and_then(|r| {
        let model = model_enc.as_ref().map(|b| b.header.payload_len);
        let context = context_payload.as_ref().map(|p| p.len() as u64);
        // Asked for alone, there is nothing to rule it out.
        could_keep(r.lower_bound(), model, context).then(|| r.finish())
    });
    let candidates = (
        model_enc.as_ref().and_then(|b| b.candidates.0),
        classical_payload.as_ref().map(|p| p.len() as u64),
        context_payload.as_ref().map(|p| p.len() as u64),
    );
    let (model_bits, quantised_bits) = model_enc
        .as_ref()
        .map_or((f64::NAN, f64::NAN), |b| (b.model_bits, b.quantised_bits));
    let adapt = model_enc.as_ref().and_then(|b| b.adapt);
    let mut best = model_enc.map(|b| Encoded { candidates, ..b });
    for (m, payload) in [(Mode::Classical, classical_payload), (Mode::Context, context_payload)] {
        let Some(payload) = payload else { continue };
        if best
            .as_ref()
            .is_some_and(|b| keeps(b.header.mode, b.header.payload_len, payload.len() as u64))
        {
            continue;
        }
        let header = Header {
            version: opts.version,
            mode: m,
            builtin: None,
            flags: if dropped { FLAG_OPAQUE_ALPHA } else { 0 },
            channels: image.channels,
            coded_channels,
            levels: model.levels() as u16,
            width: image.width,
            height: image.height,
            model_id: [0; 32],
            pixel_crc: image.crc(),
            payload_len: payload.len() as u64,
        };
        let mut bytes = header.to_bytes();
        bytes.extend_from_slice(&payload);
        best = Some(Encoded {
            bytes,
            header,
            model_bits,
            quantised_bits,
            candidates,
            adapt,
        });
    }
    Ok(best.expect("at least one path ran"))
}

/// Whether a classical payload of at least `least` bytes could be kept beside the model's
/// payload of `model` bytes and the context one of `context` (as [`keeps`] decides): not if the
/// model's is at least 1 % smaller, nor if the context one is smaller. Photos and most other
/// images skip the classical coding's final compression this way (Brotli at quality 11: about
/// 6 of a 1507×847 photo's 32 CPU seconds).
fn could_keep(least: u64, model: Option<u64>, context: Option<u64>) -> bool {
    !model.is_some_and(|m| keeps(Mode::Model, m, least)) && context.is_none_or(|c| c >= least)
}

/// Whether the payload kept so far (of `mode`, `kept` bytes) stays against a payload of `len`
/// bytes without a model, offered after it (the classical one, then the context one): the
/// model's if it is at least 1 % smaller ([`crate::trial::clearly_smaller`]), since the
/// codings without a model decode 10–100× faster; the classical one on a tie with the context
/// one.
fn keeps(mode: Mode, kept: u64, len: u64) -> bool {
    match mode {
        Mode::Model => crate::trial::clearly_smaller(kept, len),
        Mode::Classical | Mode::Context => kept <= len,
    }
}

/// Decodes a `.prnn` file of any version with `model` (whose id must match the header's; a
/// classical file needs no model, and `model` is not used).
pub fn decode(file: &[u8], model: &dyn ProbabilityModel, opts: &DecodeOptions) -> Result<Image> {
    let h = Header::parse(file, &opts.limits)?;
    let payload = &file[h.header_len()..];
    let geometry = (
        h.width as usize,
        h.height as usize,
        h.coded_channels as usize,
        h.levels as usize,
    );
    let coded = match h.mode {
        Mode::Classical => Some(crate::classical::decode(payload, geometry.0, geometry.1, geometry.2)?),
        Mode::Context => Some(crate::context::decode(payload, geometry, opts.progress)?),
        Mode::Model => None,
    };
    if let Some(coded) = coded {
        if let Some(&v) = coded.iter().find(|&&v| v as u16 >= h.levels) {
            return Err(CodecError::corrupt("pixels", format!("values below {}", h.levels), v));
        }
        return finish(&h, coded, opts);
    }
    if h.model_id != model.id() {
        return Err(CodecError::ModelMismatch(format!(
            "the file was compressed with model {} but the model given is {}; pass the right one with --model",
            id_hex(&h.model_id),
            id_hex(&model.id())
        )));
    }
    if model.channels() != h.coded_channels as usize || model.levels() != h.levels as usize {
        return Err(CodecError::ModelMismatch(format!(
            "the file codes {} channel(s) at {} levels, the model {} channel(s) at {} levels",
            h.coded_channels,
            h.levels,
            model.channels(),
            model.levels()
        )));
    }
    let (w, hgt) = (h.width as usize, h.height as usize);
    let total = h.coded_subpixels();
    let payload = &file[h.header_len()..];
    let (spread, streams) = if h.version >= 3 {
        crate::substreams::split(payload, hgt, h.version)?
    } else {
        let words = payload
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        (Spread::raster(1), vec![words])
    };
    let nsub = streams.len();
    if (nsub > 1 || spread.lanes > 1) && !model.raster_order() {
        return Err(CodecError::corrupt(
            "substreams",
            "one substream of one lane with a model that codes out of raster order",
            format!("{nsub} substreams of {} lanes", spread.lanes),
        ));
    }
    let mut decs = Vec::with_capacity(nsub);
    for words in streams {
        decs.push(
            DefaultRangeDecoder::from_compressed(words)
                .map_err(|_| CodecError::corrupt("payload", "a range-coder stream", "an unreadable start"))?,
        );
    }
    let (ch, levels) = (h.coded_channels as usize, model.levels());
    if h.adaptive() && !model.raster_order() {
        return Err(CodecError::corrupt(
            "flags",
            "no adaptive coding with a model that codes out of raster order",
            "the adaptive flag",
        ));
    }
    let arith = arith_of(h.version);
    let threads = opts.threads.clamp(1, nsub);
    // Substreams decode side by side (on one thread too: its rows in step), every row of a
    // block in flight at once; so do one substream's lanes.
    if nsub > 1 || spread.lanes > 1 {
        if let Some(rows) = model.rows(arith, w, hgt, spread.block()) {
            let geometry = (w, hgt, ch, levels);
            let coded = crate::parallel::decode_rows(
                &*rows,
                (decs, spread),
                h.adaptive()
                    .then_some((h.version, h.phases().then(|| crate::phase_row(hgt, spread)))),
                geometry,
                threads,
                opts.progress,
            )?;
            return finish(&h, coded, opts);
        }
        if spread.lanes > 1 {
            return Err(CodecError::corrupt(
                "lanes",
                "one lane with a model that cannot decode rows side by side",
                spread.lanes,
            ));
        }
    }
    let row_len = w * ch;
    let mut seq = model.sequential(arith, w, hgt);
    let mut symbols = Symbols::new(levels);
    let mut coded = Vec::with_capacity(total as usize);
    let mut adaptive = h
        .adaptive()
        .then(|| Adapter::new(h.version, (w, hgt, ch, levels), nsub));
    if let (Some(a), true) = (adaptive.as_mut(), h.phases()) {
        a.with_phases(crate::phase_row(hgt, spread));
    }
    for i in 0..total {
        let dec = &mut decs[(i as usize / row_len) % nsub];
        let mix = adaptive.as_mut().map(|a| {
            crate::symbols::mixing(move |t: &[f32], m: &mut [f32]| {
                a.mix(t, m);
                a.tree()
            })
        });
        let v = symbols.decode(dec, seq.next_dist(), mix, i)?;
        if let Some(a) = adaptive.as_mut() {
            a.update(v);
        }
        seq.push(v as u8);
        coded.push(v as u8);
        if let Some(p) = opts.progress {
            if (i + 1).is_multiple_of(PROGRESS_EVERY) {
                p(i + 1, total);
            }
        }
    }
    drop(seq);
    let coded = model.raster(coded, w, hgt);
    finish(&h, coded, opts)
}

/// The decoded image from the coded sub-pixels (in raster order), checked against the header's
/// pixel checksum.
fn finish(h: &Header, coded: Vec<u8>, opts: &DecodeOptions) -> Result<Image> {
    let total = h.coded_subpixels();
    let pixels = if h.opaque_alpha_dropped() {
        Image::with_opaque_alpha(&coded, h.coded_channels as usize)
    } else {
        coded
    };
    let image = Image::new(h.width, h.height, h.channels, pixels)?;
    let crc = image.crc();
    if crc != h.pixel_crc {
        return Err(CodecError::corrupt(
            "pixel checksum",
            format!("{:08x}", h.pixel_crc),
            format!("{crc:08x} (the file is damaged or truncated, or the model is not the one that encoded it)"),
        ));
    }
    if let Some(p) = opts.progress {
        p(total, total);
    }
    Ok(image)
}

pub(crate) fn short_id(id: &[u8; 32]) -> String {
    id_hex(id)[..12].to_string()
}

#[cfg(test)]
mod tests {
    use super::{could_keep, keeps};
    use crate::container::Mode;

    /// The classical coding is finished unless the model's payload is clearly smaller than its
    /// least size, or the context one smaller (as `keeps` would decide on the finished one).
    #[test]
    fn the_classical_coding_is_finished_only_where_it_could_be_kept() {
        assert!(!could_keep(1000, Some(990), None));
        assert!(could_keep(1000, Some(991), None));
        assert!(!could_keep(1000, None, Some(999)));
        assert!(could_keep(1000, None, Some(1000)), "kept on a tie with the context one");
        assert!(could_keep(1000, Some(2000), Some(1500)));
        assert!(could_keep(1000, None, None));
    }

    #[test]
    fn the_model_coding_must_be_clearly_smaller() {
        // Within 1 % the faster coding without a model wins.
        assert!(!keeps(Mode::Model, 995, 1000));
        assert!(!keeps(Mode::Model, 1000, 1000));
        assert!(keeps(Mode::Model, 990, 1000));
        // Between the two without a model, the smaller; the classical one on a tie.
        assert!(keeps(Mode::Classical, 1000, 1000));
        assert!(!keeps(Mode::Classical, 1001, 1000));
        assert!(keeps(Mode::Context, 999, 1000));
    }
}

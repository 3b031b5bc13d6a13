//! The encoder driver: an image to `.prnn` bytes through a [`ProbabilityModel`], the model's
//! coding ([`crate::encoder`]), the context coding and the classical one side by side in auto
//! mode, and the choice between them.

use crate::classical::Ranked;
use crate::container::{Header, Mode, FLAG_OPAQUE_ALPHA, VERSION};
use crate::context::Beside;
use crate::error::{CodecError, Result};
use crate::image::Image;
use crate::model::ProbabilityModel;
use crate::options::{EncodeOptions, Encoded, ModeChoice};
use crate::signal::{Closes, Signal};

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
    crate::metadata::check(opts.metadata)?;
    if opts.version < 12 && !opts.metadata.is_empty() {
        return Err(CodecError::BadParameter(format!(
            "metadata (an ICC profile, EXIF) needs format version 12 or later (asked for {})",
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
    // spread's adaptive coding to reach it, and stops where it is far behind it there
    // (`Beside::context_stops`): the file does not depend on the timing.
    let beside = (mode == ModeChoice::Auto && context_on && crate::encoder::adapts(opts, model)).then(|| Beside {
        model: crate::encoder::spread_running(opts.version, geometry.1),
        context: Signal::new(),
    });
    // Beside them, the classical coding waits for that answer and is not even ranked where the
    // context coding stops: on the photos and `varied` it was never smaller than the context
    // coding.
    let classical = || {
        if beside.as_ref().is_some_and(Beside::context_stops) {
            return None;
        }
        Some(crate::classical::rank(&coded, geometry.0, geometry.1, geometry.2))
    };
    let context = || -> Result<Option<Vec<u8>>> {
        if !context_on {
            return Ok(None);
        }
        crate::context::encode(&coded, geometry, context_progress, beside.as_ref())
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
    let (model_enc, ranked, context_payload): (Option<Encoded>, Option<Ranked>, Option<Vec<u8>>) = match mode {
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
            metadata: opts.metadata.to_vec(),
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

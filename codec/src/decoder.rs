//! The decoder driver: `.prnn` bytes of any version back to the image, through the
//! [`ProbabilityModel`] whose id the header names (a file without a model needs none).

use constriction::stream::queue::DefaultRangeDecoder;
use pixelrnn_model::id_hex;

use crate::adapter::Adapter;
use crate::container::{arith_of, Header, Mode};
use crate::error::{CodecError, Result};
use crate::image::Image;
use crate::lanes::Spread;
use crate::model::ProbabilityModel;
use crate::options::DecodeOptions;
use crate::symbols::Symbols;

/// How often progress is reported, in sub-pixels.
const PROGRESS_EVERY: u64 = 1 << 12;

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
    // Up to two threads a substream: one decodes, one computes the model ([`crate::pipeline`]).
    let threads = opts.threads.clamp(1, 2 * nsub);
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

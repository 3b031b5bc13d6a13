//! Encoder and decoder drivers: image ⇄ `.prnn` bytes through a [`ProbabilityModel`].

use constriction::stream::queue::{DefaultRangeDecoder, DefaultRangeEncoder};
use constriction::stream::{Decode, Encode};
use pixelrnn_model::{id_hex, Dist};

use crate::container::{Header, Limits, FLAG_OPAQUE_ALPHA, HEADER_LEN};
use crate::error::{CodecError, Result};
use crate::image::Image;
use crate::model::ProbabilityModel;
use crate::quantize::{quantize, Cdf, Lazy};

/// Progress callback: (sub-pixels done, sub-pixels in all).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// How to encode.
#[derive(Clone, Copy)]
pub struct EncodeOptions<'a> {
    /// Worker threads for the model's batch mode (results do not depend on it).
    pub threads: usize,
    /// Code an all-255 alpha channel as a header flag instead of coding it.
    pub drop_opaque_alpha: bool,
    pub progress: Option<Progress<'a>>,
}

impl Default for EncodeOptions<'_> {
    fn default() -> Self {
        EncodeOptions {
            threads: 1,
            drop_opaque_alpha: true,
            progress: None,
        }
    }
}

/// How to decode.
#[derive(Clone, Copy, Default)]
pub struct DecodeOptions<'a> {
    pub limits: Limits,
    pub progress: Option<Progress<'a>>,
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
}

/// How often progress is reported, in sub-pixels.
const PROGRESS_EVERY: u64 = 1 << 12;

/// Encodes `image` with `model`; the model must have as many channels as are coded.
pub fn encode(image: &Image, model: &dyn ProbabilityModel, opts: &EncodeOptions) -> Result<Encoded> {
    let coded_channels = image.coded_channels(opts.drop_opaque_alpha);
    let dropped = coded_channels != image.channels;
    if model.channels() != coded_channels as usize {
        return Err(CodecError::ModelMismatch(format!(
            "the image has {} coded channel(s) but the model {} has {}",
            coded_channels,
            short_id(&model.id()),
            model.channels()
        )));
    }
    if model.levels() > 256 || model.levels() < 2 {
        return Err(CodecError::BadParameter(format!(
            "model with {} levels",
            model.levels()
        )));
    }
    let coded: std::borrow::Cow<[u8]> = if dropped {
        image.without_alpha().into()
    } else {
        (&image.pixels[..]).into()
    };
    if let Some(&v) = coded.iter().find(|&&v| v as usize >= model.levels()) {
        return Err(CodecError::ModelMismatch(format!(
            "the image has the value {v} but the model codes only {} levels",
            model.levels()
        )));
    }
    let (width, height) = (image.width as usize, image.height as usize);
    let total = coded.len() as u64;
    let mut enc = DefaultRangeEncoder::new();
    let mut cdf = Vec::with_capacity(model.levels() + 1);
    let (mut i, mut model_bits, mut quantised_bits) = (0usize, 0f64, 0f64);
    let mut sink = |dist: Dist<'_>, v: u8| -> Result<()> {
        let v = v as usize;
        let coder = |e| CodecError::BadParameter(format!("range coder: {e}"));
        match dist {
            Dist::Probs(probs) => {
                quantize(probs, &mut cdf);
                enc.encode_symbol(v, Cdf(&cdf)).map_err(coder)?;
                quantised_bits += Cdf(&cdf).bits(v);
            }
            Dist::Mixture(m) => {
                enc.encode_symbol(v, Lazy(m)).map_err(coder)?;
                quantised_bits += Lazy(m).bits(v);
            }
        }
        // A probability that underflowed to 0 in f32 still codes (at the quantiser's floor).
        model_bits -= dist.prob(v).max(1.0 / crate::quantize::TOTAL as f64).log2();
        i += 1;
        if let Some(p) = opts.progress {
            if (i as u64).is_multiple_of(PROGRESS_EVERY) {
                p(i as u64, total);
            }
        }
        Ok(())
    };
    model.batch(&coded, width, height, opts.threads, &mut sink)?;
    if i != coded.len() {
        return Err(CodecError::BadParameter(format!(
            "the model gave {i} distributions for {} sub-pixels",
            coded.len()
        )));
    }
    let words = enc
        .into_compressed()
        .map_err(|e| CodecError::BadParameter(format!("range coder: {e:?}")))?;
    let header = Header {
        flags: if dropped { FLAG_OPAQUE_ALPHA } else { 0 },
        channels: image.channels,
        coded_channels,
        levels: model.levels() as u16,
        width: image.width,
        height: image.height,
        model_id: model.id(),
        pixel_crc: image.crc(),
        payload_len: words.len() as u64 * 4,
    };
    let mut bytes = Vec::with_capacity(HEADER_LEN + words.len() * 4);
    bytes.extend_from_slice(&header.to_bytes());
    for w in &words {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    if let Some(p) = opts.progress {
        p(total, total);
    }
    Ok(Encoded {
        bytes,
        header,
        model_bits,
        quantised_bits,
    })
}

/// Decodes a `.prnn` file with `model` (whose id must match the header's).
pub fn decode(file: &[u8], model: &dyn ProbabilityModel, opts: &DecodeOptions) -> Result<Image> {
    let h = Header::parse(file, &opts.limits)?;
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
    let words: Vec<u32> = file[HEADER_LEN..]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut dec = DefaultRangeDecoder::from_compressed(words)
        .map_err(|_| CodecError::corrupt("payload", "a range-coder stream", "an unreadable start"))?;
    let mut seq = model.sequential(w, hgt);
    let mut cdf = Vec::with_capacity(model.levels() + 1);
    let mut coded = Vec::with_capacity(total as usize);
    for i in 0..total {
        let got = match seq.next() {
            Dist::Probs(probs) => {
                quantize(probs, &mut cdf);
                dec.decode_symbol(Cdf(&cdf))
            }
            Dist::Mixture(m) => dec.decode_symbol(Lazy(m)),
        };
        let v = got.map_err(|_| {
            CodecError::corrupt(
                "payload",
                "valid range-coder data",
                format!("invalid data at sub-pixel {i}"),
            )
        })?;
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
            format!("{crc:08x} (the payload is damaged, or the model is not the one that encoded it)"),
        ));
    }
    if let Some(p) = opts.progress {
        p(total, total);
    }
    Ok(image)
}

fn short_id(id: &[u8; 32]) -> String {
    id_hex(id)[..12].to_string()
}

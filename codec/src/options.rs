//! What the encoder and decoder drivers take and give: their options and the encoder's result.

use pixelrnn_model::id_hex;

use crate::adapt::AdaptStats;
use crate::container::{Header, Limits, VERSION};
use crate::metadata::Metadata;

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
    /// Version 12: what the image carries beside its pixels, kept in the header (at most one
    /// entry of each kind; an error with an earlier version).
    pub metadata: &'a [Metadata],
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
            metadata: &[],
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

/// The first 12 hex digits of a model id, for messages.
pub(crate) fn short_id(id: &[u8; 32]) -> String {
    id_hex(id)[..12].to_string()
}

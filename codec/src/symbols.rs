//! Decoding one sub-pixel from its distribution: the tabulated softmax, the mixture head's lazy
//! CDF, or either mixed with the adaptive experts, quantised and range-decoded. The sequential
//! decoder and the rows decoded side by side ([`crate::parallel`]) share it.

use constriction::stream::queue::DefaultRangeDecoder;
use constriction::stream::Decode;
use pixelrnn_model::Dist;

use crate::error::{CodecError, Result};
use crate::quantize::{quantize, Coded, Table};
use crate::tree10::TreeStage;

/// `f` as the mixing step [`Symbols::decode`] takes (its type spelt out, so that the closure
/// may return a borrow of the adaptive state it holds).
pub(crate) fn mixing<'t, F: FnOnce(&[f32], &mut [f32]) -> Option<&'t TreeStage>>(f: F) -> F {
    f
}

/// Buffers for decoding sub-pixels of `levels` levels.
pub(crate) struct Symbols {
    tab: Vec<f32>,
    mixed: Vec<f32>,
    cdf: Vec<u32>,
}

impl Symbols {
    pub(crate) fn new(levels: usize) -> Symbols {
        Symbols {
            tab: vec![0.0; levels],
            mixed: vec![0.0; levels],
            cdf: Vec::with_capacity(levels + 1),
        }
    }

    /// The level of sub-pixel `i` (for the error message) from `dec`, coded with `d`, or with
    /// `d` mixed by `mix(model, mixed)` (the adaptive coding) when given, which gives the binary
    /// stage that codes the mixture from version 10 on.
    pub(crate) fn decode<'t>(
        &mut self,
        dec: &mut DefaultRangeDecoder,
        d: Dist<'_>,
        mix: Option<impl FnOnce(&[f32], &mut [f32]) -> Option<&'t TreeStage>>,
        i: u64,
    ) -> Result<usize> {
        let got = match (mix, d) {
            (Some(mix), d) => {
                d.probs_into(&mut self.tab);
                match mix(&self.tab, &mut self.mixed) {
                    Some(tree) => dec.decode_symbol(Coded(tree)),
                    None => {
                        quantize(&self.mixed, &mut self.cdf);
                        dec.decode_symbol(Coded(Table(&self.cdf)))
                    }
                }
            }
            (None, Dist::Probs(probs)) => {
                quantize(probs, &mut self.cdf);
                dec.decode_symbol(Coded(Table(&self.cdf)))
            }
            (None, Dist::Mixture(m)) => dec.decode_symbol(Coded(m)),
        };
        got.map_err(|_| {
            CodecError::corrupt(
                "payload",
                "valid range-coder data",
                format!("invalid data at sub-pixel {i}"),
            )
        })
    }
}

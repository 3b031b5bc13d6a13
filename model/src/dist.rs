//! What the engine hands the coder for one sub-pixel: softmax probabilities, or a mixture whose
//! integer CDF the coder evaluates lazily.

use crate::mixture::MixCdf;

/// One sub-pixel's distribution.
#[derive(Clone, Copy, Debug)]
pub enum Dist<'a> {
    /// `levels` probabilities (the softmax head); the codec quantises them.
    Probs(&'a [f32]),
    /// A logistic mixture with its own quantised CDF ([`MixCdf::cum`]).
    Mixture(&'a MixCdf<'a>),
}

impl Dist<'_> {
    /// Every level's probability into `out` (`levels` values): the softmax's own, or the
    /// mixture's quantised ones.
    pub fn probs_into(&self, out: &mut [f32]) {
        match self {
            Dist::Probs(p) => out.copy_from_slice(p),
            Dist::Mixture(m) => m.probs(out),
        }
    }

    /// The model's probability of `v` (before quantisation), for reporting NLLs.
    pub fn prob(&self, v: usize) -> f64 {
        match self {
            Dist::Probs(p) => p[v] as f64,
            Dist::Mixture(m) => m.prob(v),
        }
    }
}

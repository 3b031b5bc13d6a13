//! Probability quantisation: one shared function turns the engine's f32 distribution into integer
//! frequencies (every level nonzero, exact total 2^24), and the cumulative table that drives
//! constriction's range coder.

use std::borrow::Borrow;
use std::num::NonZeroU32;

use constriction::stream::model::{DecoderModel, EncoderModel, EntropyModel};
use pixelrnn_model::mixture::MixCdf;

use crate::interval::{fixed, stats, uniform_cum};

/// Fixed-point precision of the frequencies (constriction's default for 32-bit words).
pub const PRECISION: usize = 24;
/// Total of every quantised distribution.
pub const TOTAL: u32 = 1 << PRECISION;

/// Quantises `probs` (levels ≤ 2^16) into the cumulative table `cdf` (`probs.len() + 1`
/// entries, `cdf[0] = 0`, `cdf[n] = 2^24`, strictly increasing). See `FORMAT.md` for the rule,
/// which decoders must follow bit for bit.
pub fn quantize(probs: &[f32], cdf: &mut Vec<u32>) {
    let n = probs.len();
    debug_assert!((2..=1 << 16).contains(&n));
    cdf.clear();
    cdf.resize(n + 1, 0);
    // Frequencies, their total and the first largest in one vectorised pass.
    let s = stats(probs, 0, &mut cdf[1..]);
    match fixed(&s) {
        Some(f) => cdf[s.best + 1] = f,
        // Cannot happen for probabilities summing to ~1; stay decodable anyway.
        None => {
            for (i, c) in cdf.iter_mut().enumerate().skip(1) {
                *c = uniform_cum(n, i) - uniform_cum(n, i - 1);
            }
        }
    }
    // The running sum in a register (not reloaded from the entry just stored, whose store
    // forwarding would cost several cycles an entry).
    let mut acc = 0u32;
    for c in &mut cdf[1..] {
        acc = acc.wrapping_add(*c);
        *c = acc;
    }
    debug_assert_eq!(cdf[n], TOTAL);
}

/// A quantised distribution over `0..levels` by its cumulative frequencies: `cum(0) = 0`,
/// `cum(levels) = 2^24`, strictly increasing. [`Coded`] turns any such into the range coder's
/// model.
pub trait Cumulative {
    fn levels(&self) -> usize;
    /// F(v) for v = 0..=levels.
    fn cum(&self, v: usize) -> u32;
    /// The level whose interval holds `q` (< 2^24), with F at both ends.
    fn find(&self, q: u32) -> (usize, u32, u32);
}

/// A tabulated cumulative distribution (the softmax head's, after [`quantize`]).
#[derive(Clone, Copy, Debug)]
pub struct Table<'a>(pub &'a [u32]);

impl Cumulative for Table<'_> {
    fn levels(&self) -> usize {
        self.0.len() - 1
    }
    fn cum(&self, v: usize) -> u32 {
        self.0[v]
    }
    fn find(&self, q: u32) -> (usize, u32, u32) {
        // Last index with cdf[i] <= q; cdf[0] = 0 and cdf[n] = 2^24 > q.
        let s = self.0.partition_point(|&c| c <= q) - 1;
        (s, self.0[s], self.0[s + 1])
    }
}

/// A logistic mixture's CDF, evaluated lazily: two evaluations to encode, a binary search to
/// decode.
impl Cumulative for &MixCdf<'_> {
    fn levels(&self) -> usize {
        MixCdf::levels(self)
    }
    fn cum(&self, v: usize) -> u32 {
        MixCdf::cum(self, v)
    }
    fn find(&self, q: u32) -> (usize, u32, u32) {
        MixCdf::find(self, q)
    }
}

/// One symbol's interval (F(v), f(v)), known beforehand (from [`crate::interval::interval`]):
/// constriction's encoder model for that symbol alone.
#[derive(Clone, Copy, Debug)]
pub struct Span(pub u32, pub NonZeroU32);

impl Span {
    /// The interval of `v` in the table `quantize` builds from `probs`.
    pub fn of(probs: &[f32], v: usize) -> Span {
        let (left, f) = crate::interval::interval(probs, v);
        Span(left, NonZeroU32::new(f).expect("quantised frequencies are nonzero"))
    }

    /// −log2 of the quantised probability.
    pub fn bits(&self) -> f64 {
        PRECISION as f64 - (self.1.get() as f64).log2()
    }
}

impl EntropyModel<PRECISION> for Span {
    type Symbol = usize;
    type Probability = u32;
}

impl EncoderModel<PRECISION> for Span {
    fn left_cumulative_and_probability(&self, _symbol: impl Borrow<usize>) -> Option<(u32, NonZeroU32)> {
        Some((self.0, self.1))
    }
}

const _: () = assert!(pixelrnn_model::mixture::PRECISION as usize == PRECISION);

/// A [`Cumulative`] distribution as constriction's entropy model.
#[derive(Clone, Copy, Debug)]
pub struct Coded<C>(pub C);

impl<C: Cumulative> Coded<C> {
    /// −log2 of the quantised probability of `symbol`.
    pub fn bits(&self, symbol: usize) -> f64 {
        let f = self.0.cum(symbol + 1) - self.0.cum(symbol);
        PRECISION as f64 - (f as f64).log2()
    }
}

impl<C: Cumulative> EntropyModel<PRECISION> for Coded<C> {
    type Symbol = usize;
    type Probability = u32;
}

impl<C: Cumulative> EncoderModel<PRECISION> for Coded<C> {
    fn left_cumulative_and_probability(&self, symbol: impl Borrow<usize>) -> Option<(u32, NonZeroU32)> {
        let s = *symbol.borrow();
        if s >= self.0.levels() {
            return None;
        }
        let (left, right) = (self.0.cum(s), self.0.cum(s + 1));
        Some((left, NonZeroU32::new(right - left)?))
    }
}

impl<C: Cumulative> DecoderModel<PRECISION> for Coded<C> {
    fn quantile_function(&self, quantile: u32) -> (usize, u32, NonZeroU32) {
        let (s, left, right) = self.0.find(quantile);
        (s, left, NonZeroU32::new(right - left).expect("every level is nonzero"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pixelrnn_model::rng::SplitMix64;

    fn check(cdf: &[u32], n: usize) {
        assert_eq!(cdf.len(), n + 1);
        assert_eq!(cdf[0], 0);
        assert_eq!(cdf[n], TOTAL);
        assert!(cdf.windows(2).all(|w| w[1] > w[0]), "every level nonzero");
    }

    #[test]
    fn nonzero_exact_total_on_awkward_inputs() {
        let mut cdf = Vec::new();
        let mut rng = SplitMix64::new(1);
        for n in [2usize, 3, 16, 255, 256] {
            let cases: Vec<Vec<f32>> = vec![
                vec![1.0 / n as f32; n],
                (0..n).map(|i| if i == 0 { 1.0 } else { 0.0 }).collect(),
                (0..n).map(|i| if i == n - 1 { 1.0 } else { 1e-30 }).collect(),
                vec![0.0; n],
                vec![1.0; n],
                vec![f32::NAN; n],
                (0..n).map(|_| rng.next_f32()).collect(),
            ];
            for p in cases {
                quantize(&p, &mut cdf);
                check(&cdf, n);
            }
        }
    }

    #[test]
    fn monotone_in_probability() {
        let mut rng = SplitMix64::new(9);
        let mut cdf = Vec::new();
        for _ in 0..200 {
            let raw: Vec<f32> = (0..256).map(|_| rng.next_f32().powi(4)).collect();
            let s: f32 = raw.iter().sum();
            let p: Vec<f32> = raw.iter().map(|x| x / s).collect();
            quantize(&p, &mut cdf);
            let f: Vec<u32> = cdf.windows(2).map(|w| w[1] - w[0]).collect();
            let best = (0..256).max_by_key(|&i| (f[i], std::cmp::Reverse(i))).unwrap();
            for i in 0..256 {
                for j in 0..256 {
                    if i != best && j != best && p[i] < p[j] {
                        assert!(f[i] <= f[j], "p[{i}] < p[{j}] but f {} > {}", f[i], f[j]);
                    }
                }
            }
        }
    }

    #[test]
    fn quantile_function_inverts_cumulative() {
        let p: Vec<f32> = (0..10).map(|i| (i as f32 + 0.5) / 50.0).collect();
        let mut cdf = Vec::new();
        quantize(&p, &mut cdf);
        let m = Coded(Table(&cdf));
        for s in 0..10 {
            let (left, prob) = m.left_cumulative_and_probability(s).unwrap();
            for q in [left, left + prob.get() / 2, left + prob.get() - 1] {
                assert_eq!(m.quantile_function(q), (s, left, prob));
            }
        }
        assert!(m.left_cumulative_and_probability(10).is_none());
    }
}

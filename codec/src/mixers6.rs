//! Format version 6's four mixers (`FORMAT.md`, "Version 6"): each picks a weight vector over
//! the context model's sources by its own context; the coded weights are their average, and each
//! vector learns by the squared likelihood ratio of every source, renormalised with a share
//! for every source. Version 7's context stage mixes two sources in the same four contexts
//! with a Bayesian step ([`Mixers::update_bayes`]). IEEE 754 f64 `+ − × ÷` in the order written,
//! as the spec gives it.

use crate::hashed::STATES;

/// Activity buckets (half-octaves) of the third mixer's context, and of the first one's
/// (clamped); the context model's experts use the first count too.
pub(crate) const ACT: usize = 16;
pub(crate) const MIX_ACT: usize = 9;

/// Each vector keeps (1 − 1/128) of its renormalised self; every source gets a share of 1/128.
const KEEP: f64 = 1.0 - 1.0 / 128.0;
const W_MIN: f64 = 1e-6;

/// 0 when either context is unseen, 1 when their most frequent values differ, 2 when they agree.
pub(crate) fn agreement(a: Option<u8>, b: Option<u8>) -> usize {
    match (a, b) {
        (Some(a), Some(b)) => 1 + (a == b) as usize,
        _ => 0,
    }
}

/// The four mixers' weight tables of one image, over N sources.
pub(crate) struct Mixers<const N: usize> {
    /// [channel][activity][state0][state1] source weights.
    w1: Vec<[f64; N]>,
    /// [channel][state1][state of W][state of N].
    w2: Vec<[f64; N]>,
    /// [channel][activity][state2][state3].
    w3: Vec<[f64; N]>,
    /// [channel][state of the channel context][agreement of W N NW NE with W N][of either with
    /// the nine-neighbour context].
    w4: Vec<[f64; N]>,
}

impl<const N: usize> Mixers<N> {
    /// Uniform weights for `ch` channels.
    pub(crate) fn new(ch: usize) -> Self {
        Self::starting(ch, [1.0 / N as f64; N])
    }

    /// The weights `start` in every context, for `ch` channels.
    pub(crate) fn starting(ch: usize, start: [f64; N]) -> Self {
        Mixers {
            w1: vec![start; ch * MIX_ACT * STATES * STATES],
            w2: vec![start; ch * STATES * STATES * STATES],
            w3: vec![start; ch * ACT * STATES * STATES],
            w4: vec![start; ch * STATES * 9],
        }
    }

    /// The average of the four mixers' weights in the contexts `at`.
    pub(crate) fn weights(&self, at: [usize; 4]) -> [f64; N] {
        let (a, b, c, d) = (&self.w1[at[0]], &self.w2[at[1]], &self.w3[at[2]], &self.w4[at[3]]);
        let mut wt = [0.0; N];
        for i in 0..N {
            wt[i] = (((a[i] + b[i]) + c[i]) + d[i]) * 0.25;
        }
        wt
    }

    /// The four mixers' weight vectors in the contexts `at`.
    fn chosen(&mut self, at: [usize; 4]) -> [&mut [f64; N]; 4] {
        [
            &mut self.w1[at[0]],
            &mut self.w2[at[1]],
            &mut self.w3[at[2]],
            &mut self.w4[at[3]],
        ]
    }

    /// Learns from the sources' probabilities `ps` of the coded value, in the contexts `at`.
    pub(crate) fn update(&mut self, at: [usize; 4], ps: &[f64; N]) {
        let share = 1.0 / (128.0 * N as f64);
        for wt in self.chosen(at) {
            let mix = mixed(wt, ps);
            let mut sum = 0.0;
            for i in 0..N {
                let r = ps[i] / mix;
                wt[i] *= r * r;
                sum += wt[i];
            }
            for w in wt.iter_mut() {
                *w = (KEEP * (*w / sum) + share).max(W_MIN);
            }
        }
    }

    /// Version 7's step: each vector becomes its posterior given the coded value's probabilities
    /// `ps`, keeps (1 − `share`) of it and spreads `share` evenly.
    pub(crate) fn update_bayes(&mut self, at: [usize; 4], ps: &[f64; N], share: f64) {
        let even = share / N as f64;
        for wt in self.chosen(at) {
            let mix = mixed(wt, ps);
            let mut post = [0.0; N];
            let mut sum = 0.0;
            for i in 0..N {
                post[i] = wt[i] * (ps[i] / mix);
                sum += post[i];
            }
            for i in 0..N {
                wt[i] = (1.0 - share) * (post[i] / sum) + even;
            }
        }
    }
}

/// The mixture's probability `Σ wt_i · ps_i`, summed in source order.
fn mixed<const N: usize>(wt: &[f64; N], ps: &[f64; N]) -> f64 {
    let mut mix = 0.0;
    for i in 0..N {
        mix += wt[i] * ps[i];
    }
    mix
}

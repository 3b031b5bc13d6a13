//! Format version 10's binary stage: the adaptive coding's last distribution coded as a path
//! down a binary tree of its levels (each node splits its levels in two halves), where every
//! split's probability is refined by an adaptive table of that node (secondary estimation, the
//! APM stage of PAQ's image models). The split probabilities come from the distribution; the
//! table, one per (channel, node), maps them (by their log-odds, interpolated between 33
//! points) to what such splits have turned out to be in this image. The coded intervals are
//! nested halves of the range coder's 2^24, so a symbol is still one range-coder step: a walk
//! down its path to encode, down the quantile's path to decode. All arithmetic is IEEE 754 f64
//! `+ − × ÷` in a fixed order, and the log-odds come from the bits of the floats (no libm).

use std::cell::Cell;
use std::num::NonZeroU32;

use crate::quantize::{Cumulative, Span, TOTAL};

/// Points of each node's table over the log-odds.
const POINTS: usize = 33;
/// The log-odds (base 2) of the first point, and between points.
const FIRST: f64 = -12.0;
const STEP: f64 = 0.75;
/// The log-odds of the last point.
const LAST: f64 = FIRST + (POINTS - 1) as f64 * STEP;
/// How far a table point moves toward each coded split (times its interpolation weight).
const RATE: f64 = 1.0 / 128.0;
/// A split's probability from the distribution is kept within [LIMIT, 1 − LIMIT].
const LIMIT: f64 = 1.0 / 1_048_576.0;

/// One substream's binary stage: the tables, and the masses of the tree's nodes under the
/// distribution of the sub-pixel being coded.
pub(crate) struct TreeStage {
    levels: usize,
    /// Nodes a channel's table holds: the next power of two of the levels (node 1 is the
    /// root, node n's halves are 2n and 2n + 1).
    nodes: usize,
    table: Vec<f64>,
    /// Each node's mass (index: the node), the sum of its halves' masses; a level's own.
    mass: Vec<f64>,
    c: usize,
    /// The last walk's path: coding a level walks it, and [`TreeStage::update`] reuses it.
    path: Cell<Path>,
}

/// A walk down the tree to `level`: its interval's frequency, and per split on the way the
/// table point and weight it used and the half taken (1: upper).
#[derive(Clone, Copy)]
struct Path {
    level: usize,
    f: u32,
    n: usize,
    steps: [(usize, f64, f64); 16],
}

/// No walk since the distribution was taken.
const NO_PATH: Path = Path {
    level: usize::MAX,
    f: 0,
    n: 0,
    steps: [(0, 0.0, 0.0); 16],
};

/// log2 of a positive normal f64 from its bits: the exponent plus the mantissa's fraction
/// (linear between powers of two; exact and the same on every machine).
fn log2_bits(x: f64) -> f64 {
    let b = x.to_bits();
    let e = ((b >> 52) & 0x7ff) as i64 - 1023;
    let m = (b & ((1u64 << 52) - 1)) as f64 * (1.0 / 4_503_599_627_370_496.0);
    e as f64 + m
}

/// One split: the refined probability of the upper half, and the table point and weight it
/// was interpolated from (for the update).
struct Split {
    p: f64,
    at: usize,
    w: f64,
}

impl TreeStage {
    pub(crate) fn new(channels: usize, levels: usize) -> TreeStage {
        let nodes = levels.next_power_of_two();
        // Each point starts at the logistic of its log-odds: the identity map.
        let start: Vec<f64> = (0..POINTS)
            .map(|j| {
                let s = FIRST + j as f64 * STEP;
                let e = crate::geo5::exp(-(s.abs() * crate::geo5::LN2));
                if s >= 0.0 {
                    1.0 / (1.0 + e)
                } else {
                    e / (1.0 + e)
                }
            })
            .collect();
        TreeStage {
            levels,
            nodes,
            table: start.iter().copied().cycle().take(channels * nodes * POINTS).collect(),
            mass: vec![0.0; 2 * nodes],
            c: 0,
            path: Cell::new(NO_PATH),
        }
    }

    /// Takes the distribution `out` (every level) of channel `c`'s sub-pixel to code: the
    /// masses of the tree's nodes, each the sum of its halves' (the same additions in any
    /// order of nodes).
    pub(crate) fn prepare(&mut self, out: &[f32], c: usize) {
        self.c = c;
        self.path.set(NO_PATH);
        if self.levels == self.nodes {
            // Level v is the leaf at node `nodes + v`; the halves of node n are 2n and 2n + 1.
            for (m, &p) in self.mass[self.nodes..].iter_mut().zip(out) {
                *m = p as f64;
            }
            // A level of the tree at a time (nodes k..2k from 2k..4k), in slices the compiler
            // vectorises.
            let mut k = self.nodes / 2;
            while k >= 1 {
                let (upper, lower) = self.mass.split_at_mut(2 * k);
                for (m, pair) in upper[k..].iter_mut().zip(lower[..2 * k].chunks_exact(2)) {
                    *m = pair[0] + pair[1];
                }
                k /= 2;
            }
        } else {
            self.masses(out, 1, (0, self.levels));
        }
    }

    /// The masses of node `node` (levels lo..hi) and of the nodes below it (levels not a
    /// power of two: the tree is not a full heap, but its nodes stay below 2 · `nodes`).
    fn masses(&mut self, out: &[f32], node: usize, (lo, hi): (usize, usize)) -> f64 {
        let m = if hi - lo == 1 {
            out[lo] as f64
        } else {
            let mid = (lo + hi) / 2;
            self.masses(out, 2 * node, (lo, mid)) + self.masses(out, 2 * node + 1, (mid, hi))
        };
        self.mass[node] = m;
        m
    }

    /// Node `node`'s split of levels lo..hi at mid.
    fn split(&self, node: usize, (lo, mid, hi): (usize, usize, usize)) -> Split {
        let (all, upper) = (self.mass[node], self.mass[2 * node + 1]);
        let p = if all > 0.0 {
            upper / all
        } else {
            (hi - mid) as f64 / (hi - lo) as f64
        };
        let p = if p >= LIMIT { p } else { LIMIT };
        let p = if p <= 1.0 - LIMIT { p } else { 1.0 - LIMIT };
        let odds = log2_bits(p) - log2_bits(1.0 - p);
        let pos = (odds.clamp(FIRST, LAST) - FIRST) / STEP;
        let k = (pos as usize).min(POINTS - 2);
        let w = pos - k as f64;
        let at = (self.c * self.nodes + node) * POINTS + k;
        let table = self.table[at] * (1.0 - w) + self.table[at + 1] * w;
        Split {
            p: (p + 3.0 * table) / 4.0,
            at,
            w,
        }
    }

    /// The units of a node's `r` its lower half gets; each half keeps at least one a level.
    fn lower(&self, r: u32, s: &Split, (lo, mid, hi): (usize, usize, usize)) -> u32 {
        ((r as f64 * (1.0 - s.p) + 0.5) as u32).clamp((mid - lo) as u32, r - (hi - mid) as u32)
    }

    /// Walks down the tree from the root with `go(mid, cut, split)` choosing the upper half
    /// (`cut`: where the upper half's units start), to a level: its interval (F, f). The path
    /// is kept for [`TreeStage::update`].
    fn walk(&self, mut go: impl FnMut(usize, u32, &Split) -> bool) -> (usize, u32, u32) {
        let (mut lo, mut hi, mut node) = (0, self.levels, 1);
        let (mut left, mut r) = (0u32, TOTAL);
        let mut path = NO_PATH;
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let s = self.split(node, (lo, mid, hi));
            let lower = self.lower(r, &s, (lo, mid, hi));
            let up = go(mid, left + lower, &s);
            path.steps[path.n] = (s.at, s.w, if up { 1.0 } else { 0.0 });
            path.n += 1;
            if up {
                left += lower;
                r -= lower;
                lo = mid;
                node = 2 * node + 1;
            } else {
                r = lower;
                hi = mid;
                node *= 2;
            }
        }
        (path.level, path.f) = (lo, r);
        self.path.set(path);
        (lo, left, r)
    }

    /// Level `v`'s interval, for the encoder (one walk).
    pub(crate) fn span(&self, v: usize) -> Span {
        let (_, left, f) = self.walk(|mid, _, _| v >= mid);
        Span(left, NonZeroU32::new(f).expect("every level keeps a unit"))
    }

    /// After coding level `v`: its coded probability, and every table on its path learns the
    /// split taken (the path's nodes have tables of their own, so each split is the one coded).
    /// The walk that coded `v` gives the path; without one, it is walked here.
    pub(crate) fn update(&mut self, v: usize) -> f64 {
        if self.path.get().level != v {
            self.walk(|mid, _, _| v >= mid);
        }
        let path = self.path.replace(NO_PATH);
        for &(at, w, bit) in &path.steps[..path.n] {
            self.table[at] += (bit - self.table[at]) * (RATE * (1.0 - w));
            self.table[at + 1] += (bit - self.table[at + 1]) * (RATE * w);
        }
        path.f as f64 / TOTAL as f64
    }

    /// The coded probability of level `v` ([`TreeStage::update`] gives it too).
    #[cfg(test)]
    pub(crate) fn prob(&self, v: usize) -> f64 {
        let (_, _, f) = self.walk(|mid, _, _| v >= mid);
        f as f64 / TOTAL as f64
    }
}

impl Cumulative for &TreeStage {
    fn levels(&self) -> usize {
        self.levels
    }

    fn cum(&self, v: usize) -> u32 {
        if v >= self.levels {
            return TOTAL;
        }
        self.walk(|mid, _, _| v >= mid).1
    }

    fn find(&self, q: u32) -> (usize, u32, u32) {
        let (v, f, r) = self.walk(|_, cut, _| q >= cut);
        (v, f, f + r)
    }
}

#[cfg(test)]
#[path = "tree10_tests.rs"]
mod tests;

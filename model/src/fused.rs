//! A masked convolution's weights packed for the fused multiply-add kernels
//! ([`crate::kernels::fma_block`]): for every run of outputs in one channel group and every
//! unmasked tap, an inputs × outputs matrix, so that lanes hold outputs.
//!
//! Format version 3's arithmetic, per output of a layer with terms (convolutions) t₁ … t_n:
//! `bias`; then [`Phase::Around`] of every term in order (its taps other than the centre, in
//! row-major order, each input in order); then for each input channel group g = 0 … G−1,
//! [`Phase::Centre`]`(g)` of every term in order (the centre tap's inputs of group g, in order);
//! one fma per weight; taps outside the image read zeros. A sub-pixel's inputs thus come after
//! everything known before it, so incremental mode may add them as they arrive.

use std::ops::Range;

use crate::config::group_range;
use crate::kernels::{fma_block, Isa};
use crate::layers::{Plane, Tap};
use crate::weights::Tensor;

/// Which of a term's taps [`Fused::accumulate`] adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Every tap but the centre.
    Around,
    /// The centre tap's inputs of channel group g (of the kernel's groups).
    Centre(usize),
    /// `Around`, then every `Centre`, in one pass.
    All,
}

/// The phases in which a layer of `terms` terms over `groups` channel groups adds its terms:
/// [`Phase::Around`], then [`Phase::Centre`] of each group; for a single term one
/// [`Phase::All`] pass does the same operations in the same order.
pub fn phases(terms: usize, groups: usize) -> impl Iterator<Item = Phase> {
    let single = terms == 1;
    let split = (!single).then(|| std::iter::once(Phase::Around).chain((0..groups).map(Phase::Centre)));
    single
        .then_some(Phase::All)
        .into_iter()
        .chain(split.into_iter().flatten())
}

/// Most positions one call computes together.
pub const MAX_POSITIONS: usize = 16;

/// Outputs `start..end` (one channel group) with each tap's matrix at `off[t]`
/// (`n_in × (end − start)`, row-major).
#[derive(Clone, Debug)]
struct Run {
    start: usize,
    end: usize,
    group: usize,
    off: Vec<usize>,
}

/// The packed weights of one masked convolution.
#[derive(Clone, Debug, Default)]
pub struct Fused {
    runs: Vec<Run>,
    w: Vec<f32>,
    /// What a tap outside the image reads.
    zeros: Vec<f32>,
}

impl Fused {
    /// Packs `t` (`[cout, cin, kh, kw]`) for the given taps per group and the group of every
    /// output.
    pub fn new(t: &Tensor, taps: &[Vec<Tap>], out_group: &[u8]) -> Fused {
        let (cout, cin, kh, kw) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
        let (cy, cx) = (kh / 2, kw / 2);
        let mut runs = Vec::new();
        let mut w = Vec::new();
        let mut start = 0;
        while start < cout {
            let g = out_group[start];
            let end = (start..cout).find(|&o| out_group[o] != g).unwrap_or(cout);
            let mut off = Vec::new();
            for tap in &taps[g as usize] {
                off.push(w.len());
                let ky = (tap.dy + cy as isize) as usize;
                let kx = (tap.dx + cx as isize) as usize;
                for i in 0..tap.n_in {
                    for o in start..end {
                        w.push(t.data[((o * cin + i) * kh + ky) * kw + kx]);
                    }
                }
            }
            runs.push(Run {
                start,
                end,
                group: g as usize,
                off,
            });
            start = end;
        }
        Fused {
            runs,
            w,
            zeros: vec![0.0; cin],
        }
    }

    /// Adds the taps of `phase` for outputs `o_range` at positions (y, x0 + p), p < `np`, onto
    /// `acc[p·ld ..][..o_range.len()]`, with the taps `taps` (per group) of its kernel.
    #[allow(clippy::too_many_arguments)]
    pub fn accumulate(
        &self,
        isa: Isa,
        phase: Phase,
        taps: &[Vec<Tap>],
        src: &Plane,
        (y, x0, np): (usize, usize, usize),
        o_range: Range<usize>,
        acc: &mut [f32],
        ld: usize,
    ) {
        assert!(np <= MAX_POSITIONS);
        for run in &self.runs {
            let (a, b) = (run.start.max(o_range.start), run.end.min(o_range.end));
            if a >= b {
                continue;
            }
            let stride = run.end - run.start;
            // The taps other than the centre first (under `Mask::Vertical` some follow it in
            // row-major order), then the centre.
            let is_centre = |t: &&Tap| t.dy == 0 && t.dx == 0;
            let around = taps[run.group].iter().zip(&run.off).filter(|(t, _)| !is_centre(t));
            let centre = taps[run.group].iter().zip(&run.off).filter(|(t, _)| is_centre(t));
            for (tap, &off) in around.chain(centre) {
                let centre = is_centre(&tap);
                let inputs = match phase {
                    Phase::All => 0..tap.n_in,
                    Phase::Around if !centre => 0..tap.n_in,
                    Phase::Centre(g) if centre => {
                        let r = group_range(self.zeros.len(), taps.len(), g);
                        r.start.min(tap.n_in)..r.end.min(tap.n_in)
                    }
                    _ => continue,
                };
                if inputs.is_empty() {
                    continue;
                }
                let yy = y as isize + tap.dy;
                let input = |p: usize| {
                    let xx = (x0 + p) as isize + tap.dx;
                    if yy >= 0 && xx >= 0 && xx < src.width as isize {
                        &src.at(yy as usize, xx as usize)[inputs.clone()]
                    } else {
                        &self.zeros[inputs.clone()]
                    }
                };
                let w = &self.w[off + inputs.start * stride + (a - run.start)..];
                let acc = &mut acc[a - o_range.start..];
                if np == 1 {
                    // Incremental mode: no array of positions to fill.
                    fma_block(isa, w, stride, b - a, inputs.len(), &[input(0)], acc, ld);
                } else {
                    let mut xs: [&[f32]; MAX_POSITIONS] = [&[]; MAX_POSITIONS];
                    for (p, slot) in xs[..np].iter_mut().enumerate() {
                        *slot = input(p);
                    }
                    fma_block(isa, w, stride, b - a, inputs.len(), &xs[..np], acc, ld);
                }
            }
        }
    }
}

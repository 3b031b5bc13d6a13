//! A masked convolution's weights packed for the fused multiply-add kernels
//! ([`crate::kernels::fma_block`]): for every unmasked tap an inputs × outputs matrix over all
//! outputs, so that lanes hold outputs and one call covers every output that reads the tap.
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

mod runs;

use runs::{pack_runs, Run};

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

thread_local! {
    /// The gathered inputs of [`Fused::accumulate`]'s off-centre taps.
    static GATHER: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Most positions one call computes together.
pub const MAX_POSITIONS: usize = 16;

/// One tap's packed matrix (`cin`-row capacity, stride `cout`, at `off`) and who reads what:
/// parts of (inputs, the output ranges that read all of them), inputs in order.
#[derive(Clone, Debug)]
struct FTap {
    dy: isize,
    dx: isize,
    /// The kernel's centre (at its own row): added in [`Phase::Centre`], part g = input group g.
    centre: bool,
    off: usize,
    parts: Vec<(Range<usize>, Vec<Range<usize>>)>,
}

/// The packed weights of one masked convolution: every tap's matrix over all outputs
/// (`inputs × cout`, row-major), so that one kernel call covers every output that reads a run
/// of the tap's inputs. An output reads a prefix of each tap's inputs, made of whole input
/// channel groups, so the outputs reading an input group form a few ranges.
#[derive(Clone, Debug, Default)]
pub struct Fused {
    cout: usize,
    /// Taps in row-major order, the centre last.
    taps: Vec<FTap>,
    /// The off-centre taps as one matrix: (offset, inputs), when they can be
    /// ([`Fused::around_matrix`]).
    around: Option<(usize, usize)>,
    w: Vec<f32>,
    /// The same weights per run of outputs in one channel group (`n_in × run`, compact), for
    /// single positions (incremental mode), which read each weight once per pixel.
    runs: Vec<Run>,
    rw: Vec<f32>,
    /// Channel groups of the kernel's mask.
    groups: usize,
    /// What a tap outside the image reads.
    zeros: Vec<f32>,
}

/// Contiguous ranges of the outputs for which `reads` holds.
fn ranges(cout: usize, reads: impl Fn(usize) -> bool) -> Vec<Range<usize>> {
    let mut v: Vec<Range<usize>> = Vec::new();
    for o in (0..cout).filter(|&o| reads(o)) {
        match v.last_mut() {
            Some(last) if last.end == o => last.end = o + 1,
            _ => v.push(o..o + 1),
        }
    }
    v
}

impl Fused {
    /// Packs `t` (`[cout, cin, kh, kw]`) for the given taps per group and the group of every
    /// output.
    ///
    /// # Panics
    /// If a tap's inputs for some group are not whole input groups (no mask of the engine does
    /// that).
    pub fn new(t: &Tensor, taps: &[Vec<Tap>], out_group: &[u8]) -> Fused {
        let (cout, cin, kh, kw) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
        let (cy, cx) = (kh / 2, kw / 2);
        let groups = taps.len();
        let mut w = Vec::new();
        let mut ftaps = Vec::new();
        // Every kernel position some group reads, in row-major order, but the centre last (so
        // that the other taps' matrices are one matrix).
        let mut at: Vec<(isize, isize)> = taps.iter().flatten().map(|t| (t.dy, t.dx)).collect();
        at.sort_unstable_by_key(|&(dy, dx)| ((dy, dx) == (0, 0), dy, dx));
        at.dedup();
        for (dy, dx) in at {
            // Inputs each output group reads at this position.
            let n_in: Vec<usize> = (0..groups)
                .map(|g| taps[g].iter().find(|t| (t.dy, t.dx) == (dy, dx)).map_or(0, |t| t.n_in))
                .collect();
            let n = n_in.iter().copied().max().unwrap_or(0);
            let off = w.len();
            let (ky, kx) = ((dy + cy as isize) as usize, (dx + cx as isize) as usize);
            for i in 0..n {
                for o in 0..cout {
                    w.push(t.data[((o * cin + i) * kh + ky) * kw + kx]);
                }
            }
            let centre = (dy, dx) == (0, 0);
            let mut parts: Vec<(Range<usize>, Vec<Range<usize>>)> = Vec::new();
            for ig in 0..groups {
                let r = group_range(cin, groups, ig);
                let reads = |o: usize| {
                    let k = n_in[out_group[o] as usize];
                    assert!(k <= r.start || k >= r.end, "a tap's inputs split an input group");
                    k >= r.end && !r.is_empty()
                };
                let outs = ranges(cout, reads);
                match parts.last_mut() {
                    // Off the centre, runs of input groups read by the same outputs merge.
                    Some((inputs, o)) if !centre && *o == outs && inputs.end == r.start => inputs.end = r.end,
                    _ => parts.push((r, outs)),
                }
            }
            ftaps.push(FTap {
                dy,
                dx,
                centre,
                off,
                parts,
            });
        }
        let (runs, rw) = pack_runs(t, taps, out_group);
        let mut f = Fused {
            cout,
            taps: ftaps,
            around: None,
            w,
            runs,
            rw,
            groups,
            zeros: vec![0.0; cin],
        };
        f.around = f.around_matrix();
        f
    }

    /// The off-centre taps as one matrix (offset, rows) when every output reads all their
    /// inputs and their matrices follow each other in order.
    fn around_matrix(&self) -> Option<(usize, usize)> {
        let mut around = self.taps.iter().filter(|t| !t.centre);
        let first = around.clone().next()?;
        let mut next = first.off;
        for t in &mut around {
            let [(inputs, outs)] = &t.parts[..] else { return None };
            let all = matches!(&outs[..], [o] if *o == (0..self.cout));
            if t.off != next || inputs.start != 0 || !all {
                return None;
            }
            next += inputs.end * self.cout;
        }
        Some((first.off, (next - first.off) / self.cout.max(1)))
    }

    /// The same taps reading `rows` rows higher: none is the centre any more (all are added in
    /// [`Phase::Around`], in row-major order).
    pub fn shifted_up(mut self, rows: usize) -> Fused {
        for t in &mut self.taps {
            t.dy -= rows as isize;
            t.centre = false;
        }
        self.taps.sort_by_key(|t| (t.dy, t.dx));
        self.around = self.around_matrix();
        self.runs = self.runs.into_iter().map(|r| r.shifted_up(rows)).collect();
        self
    }

    /// Adds the taps of `phase` for outputs `o_range` at positions (y, x0 + p), p < `np`, onto
    /// `acc[p·ld ..][..o_range.len()]` (batch mode; single positions read the compact matrices
    /// of [`Fused::accumulate_runs`] instead, with the same bits).
    #[allow(clippy::too_many_arguments)]
    pub fn accumulate(
        &self,
        isa: Isa,
        phase: Phase,
        src: &Plane,
        (y, x0, np): (usize, usize, usize),
        o_range: Range<usize>,
        acc: &mut [f32],
        ld: usize,
    ) {
        assert!(np <= MAX_POSITIONS);
        // Inputs `inputs` of tap `t` for the outputs `outs` ∩ `o_range`.
        let call = |t: &FTap, inputs: &Range<usize>, outs: &Range<usize>, acc: &mut [f32]| {
            let (a, b) = (outs.start.max(o_range.start), outs.end.min(o_range.end));
            if a >= b || inputs.is_empty() {
                return;
            }
            let yy = y as isize + t.dy;
            let input = |p: usize| {
                let xx = (x0 + p) as isize + t.dx;
                if yy >= 0 && xx >= 0 && xx < src.width as isize {
                    &src.at(yy as usize, xx as usize)[inputs.clone()]
                } else {
                    &self.zeros[inputs.clone()]
                }
            };
            let w = &self.w[t.off + inputs.start * self.cout + a..];
            let acc = &mut acc[a - o_range.start..];
            let mut xs: [&[f32]; MAX_POSITIONS] = [&[]; MAX_POSITIONS];
            for (p, slot) in xs[..np].iter_mut().enumerate() {
                *slot = input(p);
            }
            fma_block(isa, w, self.cout, b - a, inputs.len(), &xs[..np], acc, ld);
        };
        let parts = |t: &FTap, acc: &mut [f32], only: Option<usize>| {
            for (g, (inputs, outs)) in t.parts.iter().enumerate() {
                if only.is_none_or(|o| o == g) {
                    outs.iter().for_each(|outs| call(t, inputs, outs, acc));
                }
            }
        };
        if matches!(phase, Phase::Around | Phase::All) {
            match self.around {
                // Each position's off-centre inputs gathered into one long input, one call (each
                // output's terms in the same order).
                Some((off, k)) if k > 0 => GATHER.with_borrow_mut(|buf| {
                    buf.resize(np * k, 0.0);
                    for (p, dst) in buf.chunks_exact_mut(k).enumerate() {
                        let mut at = 0;
                        for t in self.taps.iter().filter(|t| !t.centre) {
                            let n = t.parts[0].0.end;
                            let (yy, xx) = (y as isize + t.dy, (x0 + p) as isize + t.dx);
                            let d = &mut dst[at..at + n];
                            if yy >= 0 && xx >= 0 && xx < src.width as isize {
                                d.copy_from_slice(&src.at(yy as usize, xx as usize)[..n]);
                            } else {
                                d.fill(0.0);
                            }
                            at += n;
                        }
                    }
                    let mut xs: [&[f32]; MAX_POSITIONS] = [&[]; MAX_POSITIONS];
                    for (slot, x) in xs.iter_mut().zip(buf.chunks_exact(k)) {
                        *slot = x;
                    }
                    let w = &self.w[off + o_range.start..];
                    fma_block(isa, w, self.cout, o_range.len(), k, &xs[..np], acc, ld);
                }),
                _ => self.taps.iter().filter(|t| !t.centre).for_each(|t| parts(t, acc, None)),
            }
        }
        let only = match phase {
            Phase::Around => return,
            Phase::Centre(g) => Some(g),
            Phase::All => None,
        };
        self.taps.iter().filter(|t| t.centre).for_each(|t| parts(t, acc, only));
    }
}

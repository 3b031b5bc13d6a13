//! Engine layers: the masked convolution and the fused op that sums several masked
//! convolutions, adds a bias and a residual, and writes raw and ReLU outputs (over feature
//! planes, [`crate::plane`]).
//!
//! Every output value is computed by one function, [`Op::point`], in a fixed order:
//! `bias, then for each term, for each unmasked tap (row-major), + dot(weights, inputs)`,
//! then `+ residual`. Batch and incremental modes both call it, so they agree bit for bit.

use std::ops::Range;

use crate::config::{group_of, group_range, Config};
use crate::fmath::dot;
use crate::fused::{phases, Fused, Phase, MAX_POSITIONS};
use crate::kernels::Arith;
pub use crate::plane::Plane;
use crate::weights::Weights;

/// Mask A (the first layer: the centre sees only earlier channel groups) or mask B (later
/// layers: the centre sees groups up to its own); `Open` leaves the centre unmasked (the 1×1
/// conditioning projections of multi-scale models, whose input is known before any pixel, and
/// the gated PixelCNN's vertical-to-horizontal link). The gated PixelCNN's vertical stack uses
/// `Above` (rows above the centre only: its first layer, over the image) and `Vertical` (rows
/// above and the whole centre row: later layers, whose input depends only on rows above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    A,
    B,
    Open,
    Above,
    Vertical,
}

/// The causal mask of every layer: how many leading input features kernel position (ky, kx) of a
/// centred kh×kw kernel may read for an output in channel group `out_group`. Rows above the
/// centre and positions left of it read all `cin`; the centre reads the input groups before
/// `out_group` (mask A) or up to it (mask B); everything else reads nothing. Inputs are split into
/// `groups` contiguous groups ([`group_range`]), so the allowed inputs are always a prefix.
/// (`Above` and `Vertical` ignore groups: see [`Mask`].)
pub fn tap_inputs(
    mask: Mask,
    (kh, kw): (usize, usize),
    (ky, kx): (usize, usize),
    cin: usize,
    groups: usize,
    out_group: usize,
) -> usize {
    let (cy, cx) = (kh / 2, kw / 2);
    match mask {
        Mask::Above => return if ky < cy { cin } else { 0 },
        Mask::Vertical => return if ky <= cy { cin } else { 0 },
        _ => {}
    }
    if ky < cy || (ky == cy && kx < cx) {
        cin
    } else if ky == cy && kx == cx {
        let r = group_range(cin, groups, out_group);
        match mask {
            Mask::A => r.start,
            Mask::B => r.end,
            Mask::Open | Mask::Above | Mask::Vertical => cin,
        }
    } else {
        0
    }
}

/// Most unmasked positions a kernel may have (7×7 mask A: 25).
pub const MAX_TAPS: usize = 32;

/// One unmasked kernel position: input offset (dy ≤ 0) and the number of leading input
/// features it reads (all of them off-centre; a group prefix at the centre).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tap {
    pub dy: isize,
    pub dx: isize,
    pub n_in: usize,
}

/// A k_h×k_w convolution `cin → cout` with a causal channel-group mask, weights packed per output
/// in tap order. The kernel is centred; rows below the centre are masked out entirely, and so
/// are positions right of the centre on its row except under [`Mask::Vertical`].
#[derive(Clone, Debug)]
pub struct MaskedConv {
    pub cin: usize,
    pub cout: usize,
    pub up: usize,
    /// The channel group of every output: that of feature `o mod period` (period h for 4h gate
    /// maps, else cout).
    out_group: Vec<u8>,
    /// Taps per output group.
    taps: Vec<Vec<Tap>>,
    /// Packed weights; output o's start in `w_off[o]`.
    w: Vec<f32>,
    w_off: Vec<usize>,
    /// The same weights packed for the fused multiply-add kernels (format version 3).
    fused: Fused,
}

impl MaskedConv {
    /// Reads `{prefix}.weight` `[cout, cin, kh, kw]` from `weights` and packs the unmasked part.
    pub fn new(weights: &Weights, prefix: &str, config: &Config, mask: Mask) -> MaskedConv {
        let cout = weights.get(&format!("{prefix}.weight")).shape[0];
        Self::with_period(weights, prefix, config, mask, cout)
    }

    /// As [`MaskedConv::new`], with output o in the group of feature `o mod period`.
    pub fn with_period(weights: &Weights, prefix: &str, config: &Config, mask: Mask, period: usize) -> MaskedConv {
        let t = weights.get(&format!("{prefix}.weight"));
        let (cout, cin, kh, kw) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
        let groups = config.groups();
        let (cy, cx) = (kh / 2, kw / 2);
        let taps: Vec<Vec<Tap>> = (0..groups)
            .map(|g| {
                let mut v = Vec::new();
                for ky in 0..=cy {
                    for kx in 0..kw {
                        let n_in = tap_inputs(mask, (kh, kw), (ky, kx), cin, groups, g);
                        if n_in > 0 {
                            v.push(Tap {
                                dy: ky as isize - cy as isize,
                                dx: kx as isize - cx as isize,
                                n_in,
                            });
                        }
                    }
                }
                v
            })
            .collect();
        assert!(
            taps.iter().all(|t| t.len() <= MAX_TAPS),
            "kernel larger than the engine supports"
        );
        let mut w = Vec::new();
        let mut w_off = Vec::with_capacity(cout);
        for o in 0..cout {
            w_off.push(w.len());
            let g = group_of(o % period, period, groups);
            for tap in &taps[g] {
                let ky = (tap.dy + cy as isize) as usize;
                let kx = (tap.dx + cx as isize) as usize;
                for i in 0..tap.n_in {
                    w.push(t.data[((o * cin + i) * kh + ky) * kw + kx]);
                }
            }
        }
        let out_group: Vec<u8> = (0..cout).map(|o| group_of(o % period, period, groups) as u8).collect();
        MaskedConv {
            cin,
            cout,
            up: cy,
            fused: Fused::new(t, &taps, &out_group),
            out_group,
            taps,
            w,
            w_off,
        }
    }

    /// The same kernel reading its input `rows` rows higher (a 1×1 applied to the row above).
    pub fn shifted_up(mut self, rows: usize) -> MaskedConv {
        for taps in &mut self.taps {
            for t in taps.iter_mut() {
                t.dy -= rows as isize;
            }
        }
        self.fused = self.fused.shifted_up(rows);
        self.up += rows;
        self
    }

    /// The input slices the taps of channel group `g` read at (y, x); empty where a tap falls
    /// outside the image (it adds nothing).
    #[inline]
    pub fn resolve<'a>(&self, src: &'a Plane, y: usize, x: usize, g: usize) -> [&'a [f32]; MAX_TAPS] {
        let mut xs: [&[f32]; MAX_TAPS] = [&[]; MAX_TAPS];
        for (slot, tap) in xs.iter_mut().zip(&self.taps[g]) {
            let (yy, xx) = (y as isize + tap.dy, x as isize + tap.dx);
            if yy >= 0 && xx >= 0 && xx < src.width as isize {
                *slot = &src.at(yy as usize, xx as usize)[..tap.n_in];
            }
        }
        xs
    }

    /// The channel group of output `o`.
    #[inline]
    pub fn group(&self, o: usize) -> usize {
        self.out_group[o] as usize
    }

    /// The taps that outputs of channel group `g` read, in row-major order.
    pub fn taps_of(&self, g: usize) -> &[Tap] {
        &self.taps[g]
    }

    /// Output `o`'s weights for its group's taps, tap after tap (each tap's inputs in order).
    pub fn weights_of(&self, o: usize) -> &[f32] {
        let n: usize = self.taps[self.group(o)].iter().map(|t| t.n_in).sum();
        &self.w[self.w_off[o]..self.w_off[o] + n]
    }

    /// Adds output `o`'s taps onto `acc`, reading the slices [`MaskedConv::resolve`] gave for its
    /// group: for each unmasked tap in row-major order, `acc += dot(weights, inputs)`, skipping
    /// taps outside the image. The one order every mode uses.
    #[inline]
    pub fn accumulate_resolved(&self, mut acc: f32, o: usize, xs: &[&[f32]; MAX_TAPS]) -> f32 {
        let mut w = &self.w[self.w_off[o]..];
        for (tap, xsl) in self.taps[self.out_group[o] as usize].iter().zip(xs) {
            let (ws, rest) = w.split_at(tap.n_in);
            w = rest;
            if !xsl.is_empty() {
                acc += dot(ws, xsl);
            }
        }
        acc
    }

    /// Adds this convolution's contribution to outputs `o_range` at (y, x) onto `acc` (one value
    /// per output), as [`MaskedConv::accumulate_resolved`] does for each, with the input slices
    /// looked up once per channel group.
    #[inline]
    pub fn accumulate_range(&self, src: &Plane, y: usize, x: usize, o_range: Range<usize>, acc: &mut [f32]) {
        let mut o = o_range.start;
        while o < o_range.end {
            let g = self.out_group[o];
            let end = (o..o_range.end)
                .find(|&e| self.out_group[e] != g)
                .unwrap_or(o_range.end);
            let xs = self.resolve(src, y, x, g as usize);
            for (oo, a) in (o..end).zip(&mut acc[o - o_range.start..end - o_range.start]) {
                *a = self.accumulate_resolved(*a, oo, &xs);
            }
            o = end;
        }
    }

    /// Adds the taps of `phase` for outputs `o_range` at positions (y, x0 + p), p < `np`, onto
    /// `acc[p·ld ..]`, with fused multiply-adds ([`crate::fused`]).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn accumulate_fused(
        &self,
        isa: crate::kernels::Isa,
        phase: Phase,
        src: &Plane,
        pos: (usize, usize, usize),
        o_range: Range<usize>,
        acc: &mut [f32],
        ld: usize,
    ) {
        if pos.2 == 1 {
            let (y, x, _) = pos;
            self.fused.accumulate_runs(isa, phase, src, (y, x), o_range, acc, ld)
        } else {
            self.fused.accumulate(isa, phase, src, pos, o_range, acc, ld)
        }
    }

    /// The rightmost column offset of the taps on rows above (0 if none).
    pub fn reach(&self) -> usize {
        let dx = self.taps.iter().flatten().filter(|t| t.dy < 0).map(|t| t.dx).max();
        dx.unwrap_or(0).max(0) as usize
    }

    /// Channel groups of the kernel's mask.
    pub fn groups(&self) -> usize {
        self.taps.len()
    }
}

/// Starts the outputs of `np` positions at the bias: `out[p·ld ..][..bias.len()] = bias`.
#[inline]
pub fn fill_bias(bias: &[f32], np: usize, out: &mut [f32], ld: usize) {
    for p in 0..np {
        out[p * ld..p * ld + bias.len()].copy_from_slice(bias);
    }
}

/// Adds the terms `terms` (plane, convolution) for outputs `o_range` at positions (y, x0 + p),
/// p < `np`, onto `acc[p·ld ..]` in arithmetic `arith`: the legacy one term after term, each
/// as [`MaskedConv::accumulate_range`]; the fused one phase by phase ([`crate::fused`]).
#[inline]
pub fn accumulate_terms(
    arith: Arith,
    terms: &[(usize, MaskedConv)],
    planes: &[Plane],
    pos: (usize, usize, usize),
    o_range: Range<usize>,
    acc: &mut [f32],
    ld: usize,
) {
    let (y, x0, np) = pos;
    match arith {
        Arith::Legacy => {
            let n = o_range.len();
            for (src, conv) in terms {
                for p in 0..np {
                    conv.accumulate_range(&planes[*src], y, x0 + p, o_range.clone(), &mut acc[p * ld..p * ld + n]);
                }
            }
        }
        Arith::Fma(isa) => {
            let groups = terms.iter().map(|(_, c)| c.groups()).max().unwrap_or(1);
            for phase in phases(terms.len(), groups) {
                for (src, conv) in terms {
                    conv.accumulate_fused(isa, phase, &planes[*src], pos, o_range.clone(), acc, ld);
                }
            }
        }
    }
}

/// A fused layer: `out = Σ_terms conv(src) + bias (+ residual)`, written raw and/or after ReLU.
#[derive(Clone, Debug)]
pub struct Op {
    pub terms: Vec<(usize, MaskedConv)>,
    pub bias: Vec<f32>,
    pub residual: Option<usize>,
    pub raw: Option<usize>,
    pub relu: Option<usize>,
    pub cout: usize,
}

impl Op {
    /// Computes outputs `o_range` at (y, x0 + p), p < `np` (at most [`MAX_POSITIONS`]), into
    /// `out[p·ld ..][..o_range.len()]`. The one per-output code path of the engine: for each
    /// output, bias, then every term's unmasked taps in order, then `+ residual`.
    #[inline]
    pub fn block(
        &self,
        arith: Arith,
        planes: &[Plane],
        (y, x0, np): (usize, usize, usize),
        o_range: Range<usize>,
        out: &mut [f32],
        ld: usize,
    ) {
        debug_assert!(np <= MAX_POSITIONS);
        let n = o_range.len();
        fill_bias(&self.bias[o_range.clone()], np, out, ld);
        accumulate_terms(arith, &self.terms, planes, (y, x0, np), o_range.clone(), out, ld);
        if let Some(r) = self.residual {
            for p in 0..np {
                let res = &planes[r].at(y, x0 + p)[o_range.clone()];
                for (a, &v) in out[p * ld..p * ld + n].iter_mut().zip(res) {
                    *a += v;
                }
            }
        }
    }
}

/// Reads a bias vector, or zeros when the op has none.
pub fn bias(weights: &Weights, name: &str, n: usize) -> Vec<f32> {
    weights
        .tensors()
        .get(name)
        .map(|t| t.data.clone())
        .unwrap_or_else(|| vec![0.0; n])
}

impl MaskedConv {
    /// Unmasked weights: multiply-adds per output position (all groups, interior pixel).
    pub fn macs(&self) -> usize {
        self.w.len()
    }
}

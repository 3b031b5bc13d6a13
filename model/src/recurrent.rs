//! Engine versions of the recurrent layers: the Row LSTM step and one direction of the Diagonal
//! BiLSTM. Like [`crate::layers::Op::point`], each computes any range of hidden units at one
//! position with one fixed order of operations, used by batch and incremental mode alike.
//!
//! Gate pre-activations, for hidden unit k and gate q ∈ (i, f, o, g), row `o = q·h + k`:
//! `bias[o] + input-to-state taps (masked, in tap order) + state-to-state taps (in tap order)`.
//! Then `c = σ(f)·c_prev + σ(i)·tanh(g)`, `h = σ(o)·tanh(c)` with [`crate::fmath`]'s functions.

use std::ops::Range;

use crate::config::Config;
use crate::fmath::{dot, sigmoid, tanh};
use crate::fused::phases;
use crate::kernels::{fma_block, Arith, Isa};
use crate::layers::{bias, Mask, MaskedConv, Plane, MAX_TAPS};
use crate::weights::Weights;

/// Packs `weight[o, :, ky, kx]` rows of an unmasked state-to-state kernel `[4h, h, kh, kw]` in
/// (tap, o) order: `out[(t·4h + o)·h ..][..h]` for taps t = ky·kw + kx.
fn pack_taps(w: &Weights, name: &str) -> Vec<f32> {
    let t = w.get(name);
    let (cout, cin, kh, kw) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
    let mut v = Vec::with_capacity(t.data.len());
    for tap in 0..kh * kw {
        for o in 0..cout {
            for i in 0..cin {
                v.push(t.data[(o * cin + i) * kh * kw + tap]);
            }
        }
    }
    v
}

/// The state-to-state kernel for the fma kernels: `out[(t·h + i)·4h + o]` (inputs × outputs per
/// tap).
fn pack_taps_fused(w: &Weights, name: &str) -> Vec<f32> {
    let t = w.get(name);
    let (cout, cin, kh, kw) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
    let mut v = Vec::with_capacity(t.data.len());
    for tap in 0..kh * kw {
        for i in 0..cin {
            for o in 0..cout {
                v.push(t.data[(o * cin + i) * kh * kw + tap]);
            }
        }
    }
    v
}

/// What both LSTM kinds share: the masked input-to-state kernel with its bias, the packed
/// state-to-state taps, the learned initial state, and the planes read and written.
#[derive(Clone, Debug)]
pub struct LstmParams {
    is: MaskedConv,
    bias: Vec<f32>,
    /// `[taps][4h][h]`.
    ss: Vec<f32>,
    /// `[taps][h][4h]` (format version 3's fma kernels).
    ss_fused: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    /// Multi-scale conditioning: the conditioning plane and its unmasked 1×1 projection to 4h.
    cond: Option<(usize, MaskedConv)>,
    /// Layer input (2h), hidden state and cell planes (h each).
    pub src: usize,
    pub h: usize,
    pub c: usize,
    hidden: usize,
}

impl LstmParams {
    fn new(
        w: &Weights,
        prefix: &str,
        cfg: &Config,
        (src, h, c): (usize, usize, usize),
        cond: Option<(usize, MaskedConv)>,
    ) -> LstmParams {
        let hd = cfg.hidden;
        LstmParams {
            is: MaskedConv::with_period(w, &format!("{prefix}.is"), cfg, Mask::B, hd),
            bias: bias(w, &format!("{prefix}.is.bias"), 4 * hd),
            ss: pack_taps(w, &format!("{prefix}.ss.weight")),
            ss_fused: pack_taps_fused(w, &format!("{prefix}.ss.weight")),
            h0: w.get(&format!("{prefix}.h0")).data.clone(),
            c0: w.get(&format!("{prefix}.c0")).data.clone(),
            cond,
            src,
            h,
            c,
            hidden: hd,
        }
    }

    /// Hidden units h.
    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Multiply-adds per position (interior pixel).
    pub fn macs(&self) -> usize {
        self.is.macs() + self.ss.len() + self.cond.as_ref().map_or(0, |(_, c)| c.macs())
    }

    /// h and c of `units` at (y, x) into `out[..n]`, `out[n..2n]`, given the state taps' inputs
    /// and the previous cell value of each unit; `out[2n..6n]` is the fused arithmetic's
    /// workspace (the four gates' pre-activations).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn cells(
        &self,
        arith: Arith,
        planes: &[Plane],
        (y, x): (usize, usize),
        units: Range<usize>,
        states: &[Option<&[f32]>],
        c_prev: impl Fn(usize) -> f32,
        out: &mut [f32],
    ) {
        let n = units.len();
        if let Arith::Fma(isa) = arith {
            let (hc, g) = out.split_at_mut(2 * n);
            self.gates_fused(isa, planes, (y, x), units.clone(), states, &mut g[..4 * n]);
            for (m, k) in units.enumerate() {
                (hc[m], hc[n + m]) = cell([g[m], g[n + m], g[2 * n + m], g[3 * n + m]], c_prev(k));
            }
            return;
        }
        let mut group = self.is.group(units.start);
        let mut xs = self.inputs(planes, y, x, units.start);
        let cs = self.cond.as_ref().map(|(p, conv)| conv.resolve(&planes[*p], y, x, 0));
        for (m, k) in units.enumerate() {
            if self.is.group(k) != group {
                (group, xs) = (self.is.group(k), self.inputs(planes, y, x, k));
            }
            let g: [f32; 4] = std::array::from_fn(|q| self.gate(&xs, cs.as_ref(), q * self.hidden + k, states));
            (out[m], out[n + m]) = cell(g, c_prev(k));
        }
    }

    /// The gate pre-activations q·h + `units` (q = i, f, o, g) at (y, x) into `g[q·n ..]` in the
    /// fused arithmetic: bias, the input and conditioning terms phase by phase as in every layer
    /// ([`crate::fused`]), then the state taps in order.
    fn gates_fused(
        &self,
        isa: Isa,
        planes: &[Plane],
        (y, x): (usize, usize),
        units: Range<usize>,
        states: &[Option<&[f32]>],
        g: &mut [f32],
    ) {
        let (hd, n) = (self.hidden, units.len());
        for (q, gq) in g.chunks_exact_mut(n).enumerate() {
            let r = q * hd + units.start..q * hd + units.end;
            gq.copy_from_slice(&self.bias[r.clone()]);
            for phase in phases(1 + self.cond.is_some() as usize, self.is.groups()) {
                self.is
                    .accumulate_fused(isa, phase, &planes[self.src], (y, x, 1), r.clone(), gq, n);
                if let Some((p, conv)) = &self.cond {
                    conv.accumulate_fused(isa, phase, &planes[*p], (y, x, 1), r.clone(), gq, n);
                }
            }
            for (t, st) in states.iter().enumerate() {
                if let Some(st) = st {
                    let w = &self.ss_fused[t * hd * 4 * hd + r.start..];
                    fma_block(isa, w, 4 * hd, n, hd, &[&st[..hd]], gq, n);
                }
            }
        }
    }

    /// The input-to-state slices for unit k's channel group at (y, x).
    #[inline]
    fn inputs<'a>(&self, planes: &'a [Plane], y: usize, x: usize, k: usize) -> [&'a [f32]; MAX_TAPS] {
        self.is.resolve(&planes[self.src], y, x, self.is.group(k))
    }

    /// Gate pre-activation row `o`: bias, input-to-state taps (slices from [`Self::inputs`]),
    /// the conditioning projection (multi-scale), then the state taps in order.
    #[inline]
    fn gate(
        &self,
        xs: &[&[f32]; MAX_TAPS],
        cs: Option<&[&[f32]; MAX_TAPS]>,
        o: usize,
        states: &[Option<&[f32]>],
    ) -> f32 {
        let hd = self.hidden;
        let mut acc = self.is.accumulate_resolved(self.bias[o], o, xs);
        if let (Some((_, conv)), Some(cs)) = (&self.cond, cs) {
            acc = conv.accumulate_resolved(acc, o, cs);
        }
        for (t, st) in states.iter().enumerate() {
            if let Some(st) = st {
                acc += dot(&self.ss[(t * 4 * hd + o) * hd..][..hd], st);
            }
        }
        acc
    }
}

#[inline]
fn cell(g: [f32; 4], c_prev: f32) -> (f32, f32) {
    let c = sigmoid(g[1]) * c_prev + sigmoid(g[0]) * tanh(g[3]);
    (sigmoid(g[2]) * tanh(c), c)
}

/// Row LSTM: gates at (y, x) from the layer input at (y, x−1..x) (1×3 mask B) and h at
/// (y−1, x−1..x+1) (h0 for row −1; zero outside the row); the cell from c at (y−1, x).
#[derive(Clone, Debug)]
pub struct RowLstmOp {
    pub p: LstmParams,
}

impl RowLstmOp {
    /// `planes`: (layer input, h, c); `cond`: the conditioning term of a multi-scale model.
    pub fn new(
        w: &Weights,
        prefix: &str,
        cfg: &Config,
        planes: (usize, usize, usize),
        cond: Option<(usize, MaskedConv)>,
    ) -> RowLstmOp {
        RowLstmOp {
            p: LstmParams::new(w, prefix, cfg, planes, cond),
        }
    }

    /// Units `units` at (y, x): `out[..n]` = h, `out[n..2n]` = c.
    pub fn point(&self, arith: Arith, planes: &[Plane], y: usize, x: usize, units: Range<usize>, out: &mut [f32]) {
        let p = &self.p;
        let width = planes[p.src].width;
        let states: [Option<&[f32]>; 3] = std::array::from_fn(|t| {
            let xx = (x + t).checked_sub(1).filter(|&xx| xx < width)?;
            Some(if y == 0 { &p.h0[..] } else { planes[p.h].at(y - 1, xx) })
        });
        let c_prev = |k: usize| if y == 0 { p.c0[k] } else { planes[p.c].at(y - 1, x)[k] };
        p.cells(arith, planes, (y, x), units, &states, c_prev, out);
    }
}

/// One direction of the Diagonal BiLSTM, in image coordinates: gates at (y, x) from the layer
/// input at (y, x) (1×1 mask B), h at (y−1, x) (tap 0) and h at the previous position along the
/// row (tap 1: x−1 forward, x+1 backward); h0/c0 stand in outside the image.
#[derive(Clone, Debug)]
pub struct DiagLstmOp {
    pub p: LstmParams,
    /// Right to left (the backward direction).
    pub reverse: bool,
}

impl DiagLstmOp {
    /// `planes`: (layer input, h, c); `cond`: the conditioning term of a multi-scale model.
    pub fn new(
        w: &Weights,
        prefix: &str,
        cfg: &Config,
        planes: (usize, usize, usize),
        cond: Option<(usize, MaskedConv)>,
        reverse: bool,
    ) -> DiagLstmOp {
        DiagLstmOp {
            p: LstmParams::new(w, prefix, cfg, planes, cond),
            reverse,
        }
    }

    /// Units `units` at (y, x): `out[..n]` = h, `out[n..2n]` = c.
    pub fn point(&self, arith: Arith, planes: &[Plane], y: usize, x: usize, units: Range<usize>, out: &mut [f32]) {
        let p = &self.p;
        let width = planes[p.src].width;
        let left = if self.reverse {
            (x + 1 < width).then_some(x + 1)
        } else {
            x.checked_sub(1)
        };
        let above: &[f32] = if y == 0 { &p.h0 } else { planes[p.h].at(y - 1, x) };
        let h_left: &[f32] = left.map_or(&p.h0[..], |l| planes[p.h].at(y, l));
        let states = [Some(above), Some(h_left)];
        let c_prev = |k: usize| left.map_or(p.c0[k], |l| planes[p.c].at(y, l)[k]);
        p.cells(arith, planes, (y, x), units, &states, c_prev, out);
    }
}

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
use crate::layers::{bias, Mask, MaskedConv, Plane};
use crate::weights::Weights;

/// Packs `weight[o, :, ky, kx]` rows of an unmasked state-to-state kernel `[4h, h, kh, kw]` in
/// (tap, o) order: `out[(t·4h + o)·h ..][..h]` for taps t = ky·kw + kx.
fn pack_taps(w: &Weights, name: &str) -> (Vec<f32>, usize) {
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
    (v, cout)
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
    is: MaskedConv,
    bias: Vec<f32>,
    /// `[3 taps][4h][h]`.
    ss: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    pub src: usize,
    pub h: usize,
    pub c: usize,
    hidden: usize,
}

impl RowLstmOp {
    pub fn new(w: &Weights, prefix: &str, cfg: &Config, src: usize, h: usize, c: usize) -> RowLstmOp {
        let hd = cfg.hidden;
        RowLstmOp {
            is: MaskedConv::with_period(w, &format!("{prefix}.is"), cfg, Mask::B, hd),
            bias: bias(w, &format!("{prefix}.is.bias"), 4 * hd),
            ss: pack_taps(w, &format!("{prefix}.ss.weight")).0,
            h0: w.get(&format!("{prefix}.h0")).data.clone(),
            c0: w.get(&format!("{prefix}.c0")).data.clone(),
            src,
            h,
            c,
            hidden: hd,
        }
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Multiply-adds per position (interior pixel).
    pub fn macs(&self) -> usize {
        self.is.macs() + self.ss.len()
    }

    /// Units `units` at (y, x): `out[..n]` = h, `out[n..2n]` = c.
    pub fn point(&self, planes: &[Plane], y: usize, x: usize, units: Range<usize>, out: &mut [f32]) {
        let (hd, n) = (self.hidden, units.len());
        let width = planes[self.src].width;
        for (m, k) in units.enumerate() {
            let mut g = [0f32; 4];
            for (q, gq) in g.iter_mut().enumerate() {
                let o = q * hd + k;
                let mut acc = self.is.accumulate(self.bias[o], &planes[self.src], y, x, o);
                for t in 0..3 {
                    let xx = x as isize + t as isize - 1;
                    if xx < 0 || xx >= width as isize {
                        continue;
                    }
                    let prev: &[f32] = if y == 0 {
                        &self.h0
                    } else {
                        planes[self.h].at(y - 1, xx as usize)
                    };
                    acc += dot(&self.ss[(t * 4 * hd + o) * hd..][..hd], prev);
                }
                *gq = acc;
            }
            let c_prev = if y == 0 {
                self.c0[k]
            } else {
                planes[self.c].at(y - 1, x)[k]
            };
            (out[m], out[n + m]) = cell(g, c_prev);
        }
    }
}

/// One direction of the Diagonal BiLSTM, in image coordinates: gates at (y, x) from the layer
/// input at (y, x) (1×1 mask B), h at (y−1, x) (tap 0) and h at the previous position along the
/// row (tap 1: x−1 forward, x+1 backward); h0/c0 stand in outside the image.
#[derive(Clone, Debug)]
pub struct DiagLstmOp {
    is: MaskedConv,
    bias: Vec<f32>,
    /// `[2 taps][4h][h]`: tap 0 above, tap 1 along the row.
    ss: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    pub src: usize,
    pub h: usize,
    pub c: usize,
    hidden: usize,
    /// Right to left (the backward direction).
    pub reverse: bool,
}

impl DiagLstmOp {
    #[allow(clippy::too_many_arguments)]
    pub fn new(w: &Weights, prefix: &str, cfg: &Config, src: usize, h: usize, c: usize, reverse: bool) -> DiagLstmOp {
        let hd = cfg.hidden;
        DiagLstmOp {
            is: MaskedConv::with_period(w, &format!("{prefix}.is"), cfg, Mask::B, hd),
            bias: bias(w, &format!("{prefix}.is.bias"), 4 * hd),
            ss: pack_taps(w, &format!("{prefix}.ss.weight")).0,
            h0: w.get(&format!("{prefix}.h0")).data.clone(),
            c0: w.get(&format!("{prefix}.c0")).data.clone(),
            src,
            h,
            c,
            hidden: hd,
            reverse,
        }
    }

    pub fn hidden(&self) -> usize {
        self.hidden
    }

    /// Multiply-adds per position (interior pixel).
    pub fn macs(&self) -> usize {
        self.is.macs() + self.ss.len()
    }

    /// Units `units` at (y, x): `out[..n]` = h, `out[n..2n]` = c.
    pub fn point(&self, planes: &[Plane], y: usize, x: usize, units: Range<usize>, out: &mut [f32]) {
        let (hd, n) = (self.hidden, units.len());
        let width = planes[self.src].width;
        let left = if self.reverse {
            (x + 1 < width).then_some(x + 1)
        } else {
            x.checked_sub(1)
        };
        let above: &[f32] = if y == 0 { &self.h0 } else { planes[self.h].at(y - 1, x) };
        let h_left: &[f32] = match left {
            Some(l) => planes[self.h].at(y, l),
            None => &self.h0,
        };
        for (m, k) in units.enumerate() {
            let mut g = [0f32; 4];
            for (q, gq) in g.iter_mut().enumerate() {
                let o = q * hd + k;
                let mut acc = self.is.accumulate(self.bias[o], &planes[self.src], y, x, o);
                acc += dot(&self.ss[o * hd..][..hd], above);
                acc += dot(&self.ss[(4 * hd + o) * hd..][..hd], h_left);
                *gq = acc;
            }
            let c_prev = match left {
                Some(l) => planes[self.c].at(y, l)[k],
                None => self.c0[k],
            };
            (out[m], out[n + m]) = cell(g, c_prev);
        }
    }
}

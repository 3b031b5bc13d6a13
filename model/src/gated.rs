//! Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
//! Decoders"): the tensor list of its weight file, the gated op and its engine graph.
//!
//! Two stacks remove the masked PixelCNN's blind spot. The vertical stack at (y, x) sees only
//! the rows above (its first kernel is masked [`Mask::Above`], later ones [`Mask::Vertical`] over
//! a map that itself depends on rows above only), the horizontal stack the current row to the
//! left (1×k, mask A then B, channel groups as everywhere) plus a 1×1 link from the vertical
//! stack's pre-activations. Every unit is gated, `tanh(f) · σ(g)`.
//!
//! ```text
//! layer p ∈ {input, blocks.0 … blocks.L−1}; input: v_in = h_in = img [C], k = 7; blocks: k = 3
//! vp    = p.v (v_in)                       [2h]  k×k, Above (input) / Vertical
//! v_out = tanh(vp[:h]) · σ(vp[h:])         [h]
//! hp    = p.h (h_in) + p.v2h (vp)          [2h]  1×k mask A (input) / B; 1×1 unmasked
//! hg    = tanh(hp[:h]) · σ(hp[h:])         [h]
//! x     = p.out (hg) (+ x_in for blocks if residual)   [h]  1×1 mask B
//! ```
//! then the shared output stack over ReLU(x_0 … x_L) (its stream is h wide for this model).
//! Pre-activation feature o (of 2h) belongs to the channel group of unit `o mod h`.
//!
//! | name (p as above) | shape |
//! |---|---|
//! | `{p}.v.weight`, `.bias` | `[2h, cin, k, k]`, `[2h]` (rows below the centre, and the centre row of `input`, unused) |
//! | `{p}.h.weight`, `.bias` | `[2h, cin, 1, k]`, `[2h]` |
//! | `{p}.v2h.weight` | `[2h, 2h, 1, 1]` |
//! | `{p}.out.weight`, `.bias` | `[h, h, 1, 1]`, `[h]` |

use std::ops::Range;

use crate::config::Config;
use crate::fmath::{sigmoid, tanh};
use crate::graph::Graph;
use crate::kernels::Arith;
use crate::layers::{accumulate_terms, bias, fill_bias, Mask, MaskedConv, Op, Plane};
use crate::pixel_cnn::{output_specs, output_stack};
use crate::weights::{TensorSpec, Weights};

/// Kernel width of the input layer and of the blocks.
pub const INPUT_KERNEL: usize = 7;
pub const BLOCK_KERNEL: usize = 3;

/// Layer prefixes: `input`, then `blocks.{l}`.
fn prefixes(c: &Config) -> Vec<String> {
    std::iter::once("input".to_string())
        .chain((0..c.layers).map(|l| format!("blocks.{l}")))
        .collect()
}

/// Tensor names and shapes of a gated PixelCNN.
pub fn tensor_specs(c: &Config) -> Vec<TensorSpec> {
    let h = c.hidden;
    let mut v = Vec::new();
    for (i, p) in prefixes(c).iter().enumerate() {
        let (cin, k) = if i == 0 {
            (c.channels, INPUT_KERNEL)
        } else {
            (h, BLOCK_KERNEL)
        };
        v.extend(TensorSpec::conv(&format!("{p}.v"), 2 * h, cin, k, k, true));
        v.extend(TensorSpec::conv(&format!("{p}.h"), 2 * h, cin, 1, k, true));
        v.extend(TensorSpec::conv(&format!("{p}.v2h"), 2 * h, 2 * h, 1, 1, false));
        v.extend(TensorSpec::conv(&format!("{p}.out"), h, h, 1, 1, true));
    }
    v.extend(output_specs(c));
    v
}

/// A gated layer: `pre = bias + Σ_terms conv(src)` over 2h features, `out[u] = tanh(pre[u]) ·
/// σ(pre[h+u])` for hidden units u; the pre-activations are kept in `raw` when asked.
#[derive(Clone, Debug)]
pub struct GatedOp {
    pub terms: Vec<(usize, MaskedConv)>,
    pub bias: Vec<f32>,
    pub hidden: usize,
    pub out: usize,
    pub raw: Option<usize>,
    /// A vertical-stack layer: it depends on rows above only and runs at the start of a row.
    pub vertical: bool,
}

impl GatedOp {
    /// Units `r` at (y, x0 + p), p < `np`, into `out[p·ld ..]`: `[f (n), g (n), gated (n)]` for
    /// n = `r.len()`. Each pre-activation: bias, then every term's taps in order.
    #[inline]
    pub fn block(
        &self,
        arith: Arith,
        planes: &[Plane],
        (y, x0, np): (usize, usize, usize),
        r: Range<usize>,
        out: &mut [f32],
        ld: usize,
    ) {
        let n = r.len();
        let h = self.hidden;
        let rg = h + r.start..h + r.end;
        fill_bias(&self.bias[r.clone()], np, out, ld);
        fill_bias(&self.bias[rg.clone()], np, &mut out[n..], ld);
        accumulate_terms(arith, &self.terms, planes, (y, x0, np), r.clone(), out, ld);
        accumulate_terms(arith, &self.terms, planes, (y, x0, np), rg, &mut out[n..], ld);
        for p in 0..np {
            let (fg, rest) = out[p * ld..].split_at_mut(2 * n);
            for (m, o) in rest[..n].iter_mut().enumerate() {
                *o = tanh(fg[m]) * sigmoid(fg[n + m]);
            }
        }
    }

    /// Stores what [`GatedOp::block`] computed, through shared planes.
    ///
    /// # Safety
    /// No other thread reads or writes position (y, x) of the output planes meanwhile.
    #[inline]
    pub(crate) unsafe fn write_shared(&self, planes: &[Plane], y: usize, x: usize, r: Range<usize>, out: &[f32]) {
        let n = r.len();
        let h = self.hidden;
        planes[self.out].at_shared_mut(y, x)[r.clone()].copy_from_slice(&out[2 * n..3 * n]);
        if let Some(p) = self.raw {
            let px = planes[p].at_shared_mut(y, x);
            px[r.clone()].copy_from_slice(&out[..n]);
            px[h + r.start..h + r.end].copy_from_slice(&out[n..2 * n]);
        }
    }
}

/// One gated layer's graph; returns (vertical output plane, raw x, ReLU'd x).
fn layer(g: &mut Graph, w: &Weights, p: &str, (v_in, h_in): (usize, usize), first: bool) -> (usize, usize, usize) {
    let c = w.config();
    let h = c.hidden;
    let (vmask, hmask) = if first {
        (Mask::Above, Mask::A)
    } else {
        (Mask::Vertical, Mask::B)
    };
    let (vp, v_out) = (g.plane(2 * h), g.plane(h));
    g.push(GatedOp {
        terms: vec![(v_in, MaskedConv::with_period(w, &format!("{p}.v"), c, vmask, h))],
        bias: bias(w, &format!("{p}.v.bias"), 2 * h),
        hidden: h,
        out: v_out,
        raw: Some(vp),
        vertical: true,
    });
    let hg = g.plane(h);
    g.push(GatedOp {
        terms: vec![
            (h_in, MaskedConv::with_period(w, &format!("{p}.h"), c, hmask, h)),
            (vp, MaskedConv::with_period(w, &format!("{p}.v2h"), c, Mask::Open, h)),
        ],
        bias: bias(w, &format!("{p}.h.bias"), 2 * h),
        hidden: h,
        out: hg,
        raw: None,
        vertical: false,
    });
    let (xr, xu) = (g.plane(h), g.plane(h));
    g.push(Op {
        terms: vec![(hg, MaskedConv::new(w, &format!("{p}.out"), c, Mask::B))],
        bias: bias(w, &format!("{p}.out.bias"), h),
        residual: (!first && c.residual).then_some(h_in),
        raw: Some(xr),
        relu: Some(xu),
        cout: h,
    });
    (v_out, xr, xu)
}

/// Builds the engine graph of a gated PixelCNN from validated weights.
pub fn graph(w: &Weights) -> Graph {
    let c = w.config();
    let mut g = Graph::new(c);
    let img = g.image;
    let mut relus = Vec::new();
    let mut ins = (img, img);
    for (i, p) in prefixes(c).iter().enumerate() {
        let (v, xr, xu) = layer(&mut g, w, p, ins, i == 0);
        relus.push(xu);
        ins = (v, xr);
    }
    output_stack(&mut g, w, &relus);
    g
}

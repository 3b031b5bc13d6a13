//! Row LSTM and Diagonal BiLSTM: the tensor list of their weight files and their engine graphs.
//!
//! Both share the PixelCNN's `input` (7×7 mask A), `skips.{l}` and `output.{0,1}` tensors
//! ([`crate::pixel_cnn::tensor_specs`]); only the layers differ. Gate maps have 4h features in
//! the order i, f, o, g (h each); the channel group of gate feature k is that of feature `k mod h`
//! of an h-feature map.
//!
//! | Row LSTM, layer l | shape |
//! |---|---|
//! | `layers.{l}.is.weight`, `.bias` | `[4h, 2h, 1, 3]`, `[4h]`: input-to-state along the row, mask B (right tap masked) |
//! | `layers.{l}.ss.weight` | `[4h, h, 1, 3]`: state-to-state over the previous row, unmasked |
//! | `layers.{l}.h0`, `layers.{l}.c0` | `[h]`: learned initial state (row −1) |
//! | `layers.{l}.up.weight`, `.bias` | `[2h, h, 1, 1]`, `[2h]`: 1×1 mask B up-projection, added to the input if `residual` |
//!
//! | Diagonal BiLSTM, layer l, d ∈ {fwd, bwd} | shape |
//! |---|---|
//! | `layers.{l}.{d}.is.weight`, `.bias` | `[4h, 2h, 1, 1]`, `[4h]`: 1×1 mask B |
//! | `layers.{l}.{d}.ss.weight` | `[4h, h, 2, 1]`: 2×1 column kernel on the skewed map; tap 0 reads (i−1, j), tap 1 reads (i, j−1) |
//! | `layers.{l}.{d}.h0`, `.c0` | `[h]`: learned state outside the image (left of column 0, above row 0) |
//! | `layers.{l}.up.weight`, `.bias` | `[2h, h, 1, 1]`, `[2h]`: applied to fwd + (bwd shifted down one row) |
//!
//! Multi-scale conditional networks add `layers.{l}.cond.weight` (Row LSTM) or
//! `layers.{l}.{d}.cond.weight` (Diagonal BiLSTM), `[4h, c, 1, 1]`: the unmasked projection of the
//! conditioning map added to the input-to-state map (and `input.cond`, as the PixelCNN).

use crate::config::{Arch, Config};
use crate::graph::Graph;
use crate::layers::{bias, Mask, MaskedConv, Op};
use crate::pixel_cnn::{cond_spec, cond_term, input_layer, output_stack};
use crate::recurrent::{DiagLstmOp, RowLstmOp};
use crate::weights::{TensorSpec, Weights};

/// Tensor names and shapes of a Row LSTM or Diagonal BiLSTM.
pub fn tensor_specs(c: &Config) -> Vec<TensorSpec> {
    let (h, h2, h4) = (c.hidden, c.stream(), 4 * c.hidden);
    let mut v = TensorSpec::conv("input", h2, c.channels, 7, 7, true);
    v.extend(cond_spec(c, "input", h2));
    for l in 0..c.layers {
        let p = format!("layers.{l}");
        match c.arch {
            Arch::RowLstm => {
                v.extend(TensorSpec::conv(&format!("{p}.is"), h4, h2, 1, 3, true));
                v.extend(TensorSpec::conv(&format!("{p}.ss"), h4, h, 1, 3, false));
                v.extend(cond_spec(c, &p, h4));
                v.push(TensorSpec::vector(format!("{p}.h0"), h));
                v.push(TensorSpec::vector(format!("{p}.c0"), h));
            }
            _ => {
                for d in ["fwd", "bwd"] {
                    v.extend(TensorSpec::conv(&format!("{p}.{d}.is"), h4, h2, 1, 1, true));
                    v.extend(TensorSpec::conv(&format!("{p}.{d}.ss"), h4, h, 2, 1, false));
                    v.extend(cond_spec(c, &format!("{p}.{d}"), h4));
                    v.push(TensorSpec::vector(format!("{p}.{d}.h0"), h));
                    v.push(TensorSpec::vector(format!("{p}.{d}.c0"), h));
                }
            }
        }
        v.extend(TensorSpec::conv(&format!("{p}.up"), h2, h, 1, 1, true));
    }
    v.extend(crate::pixel_cnn::output_specs(c));
    v
}

/// Builds the engine graph of a Row LSTM or Diagonal BiLSTM from validated weights.
///
/// Layer l reads the raw stream x_l; its hidden state goes through `up` (1×1 mask B, h → 2h),
/// plus x_l if `residual`. For the Diagonal BiLSTM, `up` is applied to the forward h at (y, x) and
/// to the backward h at (y−1, x) (the shift down), as two terms of one op.
pub fn graph(w: &Weights) -> Graph {
    let c = w.config();
    let (h, h2) = (c.hidden, c.stream());
    let mut g = Graph::new(c);
    let (mut x_raw, x0_relu) = input_layer(&mut g, w);
    let mut relus = vec![x0_relu];
    for l in 0..c.layers {
        let p = format!("layers.{l}");
        let up = MaskedConv::new(w, &format!("{p}.up"), c, Mask::B);
        let terms = if c.arch == Arch::RowLstm {
            let (hp, cp) = (g.plane(h), g.plane(h));
            let cond = cond_term(&g, w, &p, h);
            g.push(RowLstmOp::new(w, &p, c, (x_raw, hp, cp), cond));
            vec![(hp, up)]
        } else {
            let (fh, fc, bh, bc) = (g.plane(h), g.plane(h), g.plane(h), g.plane(h));
            for (d, hp, cp, reverse) in [("fwd", fh, fc, false), ("bwd", bh, bc, true)] {
                let d = format!("{p}.{d}");
                let cond = cond_term(&g, w, &d, h);
                g.push(DiagLstmOp::new(w, &d, c, (x_raw, hp, cp), cond, reverse));
            }
            vec![(fh, up.clone()), (bh, up.shifted_up(1))]
        };
        let (nr, nu) = (g.plane(h2), g.plane(h2));
        g.push(Op {
            terms,
            bias: bias(w, &format!("{p}.up.bias"), h2),
            residual: c.residual.then_some(x_raw),
            raw: Some(nr),
            relu: Some(nu),
            cout: h2,
        });
        x_raw = nr;
        relus.push(nu);
    }
    output_stack(&mut g, w, &relus);
    g
}

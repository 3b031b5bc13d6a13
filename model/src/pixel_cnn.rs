//! PixelCNN (van den Oord et al. 2016, Table 1): the tensor list of its weight file and its
//! engine graph.
//!
//! ```text
//! img [C]  --input 7×7 mask A-->  x0 [2h]
//! block l (l = 0..L):  a = ReLU(reduce 1×1 (ReLU x_l))          [h]
//!                      b = ReLU(conv 3×3 mask B (a))            [h]
//!                      x_{l+1} = expand 1×1 (b) (+ x_l if residual)  [2h]
//! o = ReLU(output.0 (ReLU x_L) + Σ_{l<L} skips.l (ReLU x_l))  [out_hidden]   (skips if `skip`)
//! logits = output.1 (o)                                       [C × levels]
//! ```
//! Every 1×1 and 3×3 layer is mask B; group c of each map serves sub-pixel c.

use crate::config::Config;
use crate::graph::Graph;
use crate::layers::{bias, Mask, MaskedConv, Op};
use crate::weights::{TensorSpec, Weights};

/// Tensor names and shapes, in PyTorch layout (`[out, in, kh, kw]`, biases `[out]`):
///
/// | name | shape |
/// |---|---|
/// | `input.weight`, `input.bias` | `[2h, C, 7, 7]`, `[2h]` |
/// | `blocks.{l}.reduce.weight`, `.bias` | `[h, 2h, 1, 1]`, `[h]` |
/// | `blocks.{l}.conv.weight`, `.bias` | `[h, h, 3, 3]`, `[h]` |
/// | `blocks.{l}.expand.weight`, `.bias` | `[2h, h, 1, 1]`, `[2h]` |
/// | `skips.{l}.weight` (if `skip`, l < L) | `[out_hidden, 2h, 1, 1]` |
/// | `output.0.weight`, `.bias` | `[out_hidden, 2h, 1, 1]`, `[out_hidden]` |
/// | `output.1.weight`, `.bias` | `[C·levels, out_hidden, 1, 1]`, `[C·levels]` |
///
/// Masked-out weights are stored but ignored by the engine.
pub fn tensor_specs(c: &Config) -> Vec<TensorSpec> {
    let (h, h2) = (c.hidden, c.stream());
    let mut v = TensorSpec::conv("input", h2, c.channels, 7, 7, true);
    for l in 0..c.layers {
        let p = format!("blocks.{l}");
        v.extend(TensorSpec::conv(&format!("{p}.reduce"), h, h2, 1, 1, true));
        v.extend(TensorSpec::conv(&format!("{p}.conv"), h, h, 3, 3, true));
        v.extend(TensorSpec::conv(&format!("{p}.expand"), h2, h, 1, 1, true));
    }
    v.extend(output_specs(c));
    v
}

/// The output stack every architecture shares: `skips.{l}` (if `skip`) and `output.{0,1}`.
pub fn output_specs(c: &Config) -> Vec<TensorSpec> {
    let mut v = Vec::new();
    if c.skip {
        for l in 0..c.layers {
            v.extend(TensorSpec::conv(
                &format!("skips.{l}"),
                c.out_hidden,
                c.stream(),
                1,
                1,
                false,
            ));
        }
    }
    v.extend(TensorSpec::conv("output.0", c.out_hidden, c.stream(), 1, 1, true));
    v.extend(TensorSpec::conv("output.1", c.logits(), c.out_hidden, 1, 1, true));
    v
}

/// Builds the engine graph of a PixelCNN from validated weights.
pub fn graph(w: &Weights) -> Graph {
    let c = w.config();
    let (h, h2) = (c.hidden, c.stream());
    let mut g = Graph::new(c);
    let conv = |name: &str, mask| MaskedConv::new(w, name, c, mask);
    let op = |terms: Vec<(usize, MaskedConv)>, name: &str, cout: usize| Op {
        terms,
        bias: bias(w, &format!("{name}.bias"), cout),
        residual: None,
        raw: None,
        relu: None,
        cout,
    };

    // x0 = input(img); keep x raw (for the residual) and ReLU'd (for every consumer).
    let mut x_raw = g.plane(h2);
    let mut x_relu = g.plane(h2);
    g.push(Op {
        raw: Some(x_raw),
        relu: Some(x_relu),
        ..op(vec![(g.image, conv("input", Mask::A))], "input", h2)
    });
    let mut skips = Vec::new();
    for l in 0..c.layers {
        let p = format!("blocks.{l}");
        if c.skip {
            skips.push((x_relu, conv(&format!("skips.{l}"), Mask::B)));
        }
        let a = g.plane(h);
        g.push(Op {
            relu: Some(a),
            ..op(
                vec![(x_relu, conv(&format!("{p}.reduce"), Mask::B))],
                &format!("{p}.reduce"),
                h,
            )
        });
        let b = g.plane(h);
        g.push(Op {
            relu: Some(b),
            ..op(vec![(a, conv(&format!("{p}.conv"), Mask::B))], &format!("{p}.conv"), h)
        });
        let (nr, nu) = (g.plane(h2), g.plane(h2));
        g.push(Op {
            residual: c.residual.then_some(x_raw),
            raw: Some(nr),
            relu: Some(nu),
            ..op(
                vec![(b, conv(&format!("{p}.expand"), Mask::B))],
                &format!("{p}.expand"),
                h2,
            )
        });
        (x_raw, x_relu) = (nr, nu);
    }
    let o = g.plane(c.out_hidden);
    let mut terms = skips;
    terms.push((x_relu, conv("output.0", Mask::B)));
    g.push(Op {
        relu: Some(o),
        ..op(terms, "output.0", c.out_hidden)
    });
    let logits = g.plane(c.logits());
    g.push(Op {
        raw: Some(logits),
        ..op(vec![(o, conv("output.1", Mask::B))], "output.1", c.logits())
    });
    g.finish(logits);
    g
}

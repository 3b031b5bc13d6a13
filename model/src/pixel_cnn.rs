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
//! Every 1×1 and 3×3 layer is mask B; group c of each map serves sub-pixel c. In the conditional
//! network of a multi-scale model, `input` and every block's `conv` also add an unmasked 1×1
//! projection (`input.cond`, `blocks.{l}.cond`) of the conditioning map.

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
/// | `input.cond.weight`, `blocks.{l}.cond.weight` (multi-scale only) | `[2h, c, 1, 1]`, `[h, c, 1, 1]` |
/// | `skips.{l}.weight` (if `skip`, l < L) | `[out_hidden, 2h, 1, 1]` |
/// | `output.0.weight`, `.bias` | `[out_hidden, 2h, 1, 1]`, `[out_hidden]` |
/// | `output.1.weight`, `.bias` | `[C·levels, out_hidden, 1, 1]`, `[C·levels]` |
///
/// Masked-out weights are stored but ignored by the engine.
pub fn tensor_specs(c: &Config) -> Vec<TensorSpec> {
    let (h, h2) = (c.hidden, c.stream());
    let mut v = TensorSpec::conv("input", h2, c.channels, 7, 7, true);
    v.extend(cond_spec(c, "input", h2));
    for l in 0..c.layers {
        let p = format!("blocks.{l}");
        v.extend(TensorSpec::conv(&format!("{p}.reduce"), h, h2, 1, 1, true));
        v.extend(TensorSpec::conv(&format!("{p}.conv"), h, h, 3, 3, true));
        v.extend(cond_spec(c, &p, h));
        v.extend(TensorSpec::conv(&format!("{p}.expand"), h2, h, 1, 1, true));
    }
    v.extend(output_specs(c));
    v
}

/// `{prefix}.cond.weight` `[out, c, 1, 1]` of a multi-scale model's conditional network (none
/// for single-scale models): the unmasked projection of the conditioning map added to the
/// layer's input-to-state map.
pub(crate) fn cond_spec(c: &Config, prefix: &str, out: usize) -> Vec<TensorSpec> {
    match c.cond_features() {
        0 => Vec::new(),
        f => TensorSpec::conv(&format!("{prefix}.cond"), out, f, 1, 1, false),
    }
}

/// The conditioning term of layer `prefix` (reading the graph's conditioning plane), if any.
pub(crate) fn cond_term(g: &Graph, w: &Weights, prefix: &str, period: usize) -> Option<(usize, MaskedConv)> {
    g.cond.map(|p| {
        let conv = MaskedConv::with_period(w, &format!("{prefix}.cond"), w.config(), Mask::Open, period);
        (p, conv)
    })
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

/// A fused op of one conv term with its bias and no outputs yet.
pub(crate) fn conv_op(w: &Weights, src: usize, name: &str, mask: Mask, cout: usize) -> Op {
    Op {
        terms: vec![(src, MaskedConv::new(w, name, w.config(), mask))],
        bias: bias(w, &format!("{name}.bias"), cout),
        residual: None,
        raw: None,
        relu: None,
        cout,
    }
}

/// The 7×7 mask-A input layer: returns the planes of x0 raw and ReLU'd.
pub(crate) fn input_layer(g: &mut Graph, w: &Weights) -> (usize, usize) {
    let h2 = w.config().stream();
    let (raw, relu) = (g.plane(h2), g.plane(h2));
    let mut op = conv_op(w, g.image, "input", Mask::A, h2);
    op.terms.extend(cond_term(g, w, "input", h2));
    g.push(Op {
        raw: Some(raw),
        relu: Some(relu),
        ..op
    });
    (raw, relu)
}

/// The output stack every architecture shares: `o = ReLU(Σ skips.l(ReLU x_l) + output.0(ReLU x_L))`,
/// `logits = output.1(o)`. `relus` holds the ReLU'd planes of x_0 … x_L.
pub(crate) fn output_stack(g: &mut Graph, w: &Weights, relus: &[usize]) {
    let c = w.config();
    let (last, inputs) = relus.split_last().expect("x_0 at least");
    let mut terms = Vec::new();
    if c.skip {
        for (l, &p) in inputs.iter().enumerate() {
            terms.push((p, MaskedConv::new(w, &format!("skips.{l}"), c, Mask::B)));
        }
    }
    terms.push((*last, MaskedConv::new(w, "output.0", c, Mask::B)));
    let o = g.plane(c.out_hidden);
    g.push(Op {
        terms,
        relu: Some(o),
        ..conv_op(w, *last, "output.0", Mask::B, c.out_hidden)
    });
    let logits = g.plane(c.logits());
    g.push(Op {
        raw: Some(logits),
        ..conv_op(w, o, "output.1", Mask::B, c.logits())
    });
    g.finish(logits);
}

/// Builds the engine graph of a PixelCNN from validated weights.
pub fn graph(w: &Weights) -> Graph {
    let c = w.config();
    let (h, h2) = (c.hidden, c.stream());
    let mut g = Graph::new(c);
    let (mut x_raw, mut x_relu) = input_layer(&mut g, w);
    let mut relus = vec![x_relu];
    for l in 0..c.layers {
        let p = format!("blocks.{l}");
        let a = g.plane(h);
        g.push(Op {
            relu: Some(a),
            ..conv_op(w, x_relu, &format!("{p}.reduce"), Mask::B, h)
        });
        let b = g.plane(h);
        let mut op = conv_op(w, a, &format!("{p}.conv"), Mask::B, h);
        op.terms.extend(cond_term(&g, w, &p, h));
        g.push(Op { relu: Some(b), ..op });
        let (nr, nu) = (g.plane(h2), g.plane(h2));
        g.push(Op {
            residual: c.residual.then_some(x_raw),
            raw: Some(nr),
            relu: Some(nu),
            ..conv_op(w, b, &format!("{p}.expand"), Mask::B, h2)
        });
        (x_raw, x_relu) = (nr, nu);
        relus.push(x_relu);
    }
    output_stack(&mut g, w, &relus);
    g
}

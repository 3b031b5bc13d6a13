//! libtorch layers: masked convolution, residual block, gated PixelCNN layer, multi-scale
//! upsampling and the shared output stack (the LSTMs are in [`super::lstm`]). Tensor names match
//! the engine's weight file (`model/README.md`).

use tch::{nn, Tensor};

use crate::config::{group_of, Config};
use crate::layers::{tap_inputs, Mask};

/// A convolution whose causal mask is applied in `forward` (`weight * mask`), so masked weights
/// get zero gradient and stay irrelevant to the engine.
#[derive(Debug)]
pub struct MaskedConv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    mask: Option<Tensor>,
    padding: [i64; 2],
}

impl MaskedConv2d {
    /// `weight [cout, cin, kh, kw]` at `path.weight`; `mask` None = unmasked. `period`: output
    /// channel o belongs to the group of feature `o mod period` (h for 4h gate maps, else cout).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        path: &nn::Path,
        c: &Config,
        cin: usize,
        cout: usize,
        (kh, kw): (usize, usize),
        mask: Option<Mask>,
        period: usize,
        bias: bool,
    ) -> MaskedConv2d {
        let fan_in = (cin * kh * kw) as f64;
        let bound = 1.0 / fan_in.sqrt();
        let init = nn::Init::Uniform { lo: -bound, up: bound };
        let weight = path.var("weight", &[cout as i64, cin as i64, kh as i64, kw as i64], init);
        let bias = bias.then(|| path.var("bias", &[cout as i64], init));
        let mask = mask.map(|m| {
            let mut v = vec![0f32; cout * cin * kh * kw];
            for o in 0..cout {
                let g = group_of(o % period, period, c.groups());
                for ky in 0..kh {
                    for kx in 0..kw {
                        let n = tap_inputs(m, (kh, kw), (ky, kx), cin, c.groups(), g);
                        for i in 0..n {
                            v[((o * cin + i) * kh + ky) * kw + kx] = 1.0;
                        }
                    }
                }
            }
            Tensor::from_slice(&v)
                .reshape([cout as i64, cin as i64, kh as i64, kw as i64])
                .to_device(path.device())
        });
        MaskedConv2d {
            weight,
            bias,
            mask,
            padding: [(kh / 2) as i64, (kw / 2) as i64],
        }
    }

    /// `[B, cin, H, W] → [B, cout, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let w = match &self.mask {
            Some(m) => &self.weight * m,
            None => self.weight.shallow_clone(),
        };
        x.conv2d(&w, self.bias.as_ref(), [1, 1], self.padding, [1, 1], 1)
    }
}

/// The unmasked 1×1 projection `{p}.cond` (`c → out`) of a multi-scale conditional network's
/// conditioning map, or None for single-scale models.
pub fn cond_proj(p: &nn::Path, c: &Config, out: usize) -> Option<MaskedConv2d> {
    let f = c.cond_features();
    (f > 0).then(|| MaskedConv2d::new(&(p / "cond"), c, f, out, (1, 1), None, out, false))
}

/// `pre + proj(m)` when both are present (the conditioning bias of one layer).
pub fn add_cond(pre: Tensor, proj: &Option<MaskedConv2d>, m: Option<&Tensor>) -> Tensor {
    match (proj, m) {
        (Some(p), Some(m)) => pre + p.forward(m),
        _ => pre,
    }
}

/// PixelCNN residual block: ReLU, 1×1 2h→h, ReLU, 3×3 mask B, ReLU, 1×1 h→2h (+ input).
#[derive(Debug)]
pub struct ResBlock {
    reduce: MaskedConv2d,
    conv: MaskedConv2d,
    cond: Option<MaskedConv2d>,
    expand: MaskedConv2d,
    residual: bool,
}

impl ResBlock {
    pub fn new(p: &nn::Path, c: &Config) -> ResBlock {
        let (h, h2) = (c.hidden, c.stream());
        ResBlock {
            reduce: MaskedConv2d::new(&(p / "reduce"), c, h2, h, (1, 1), Some(Mask::B), h, true),
            conv: MaskedConv2d::new(&(p / "conv"), c, h, h, (3, 3), Some(Mask::B), h, true),
            cond: cond_proj(p, c, h),
            expand: MaskedConv2d::new(&(p / "expand"), c, h, h2, (1, 1), Some(Mask::B), h2, true),
            residual: c.residual,
        }
    }

    /// `[B, 2h, H, W] → [B, 2h, H, W]`; `m`: the conditioning map `[B, c, H, W]` (multi-scale);
    /// `drop`: dropout probability before the last 1×1 (training only; 0 = off).
    pub fn forward(&self, x: &Tensor, m: Option<&Tensor>, drop: f64) -> Tensor {
        let a = self.reduce.forward(&x.relu()).relu();
        let b = dropout(add_cond(self.conv.forward(&a), &self.cond, m).relu(), drop);
        let e = self.expand.forward(&b);
        if self.residual {
            x + e
        } else {
            e
        }
    }
}

/// Dropout with probability `p` (identity for p = 0).
pub fn dropout(t: Tensor, p: f64) -> Tensor {
    if p > 0.0 {
        t.dropout(p, true)
    } else {
        t
    }
}

/// `tanh(t[:h]) · σ(t[h:])` over the feature dimension of `[B, 2h, H, W]`.
fn gate(t: &Tensor) -> Tensor {
    let g = t.chunk(2, 1);
    g[0].tanh() * g[1].sigmoid()
}

/// One layer of the gated PixelCNN ([`crate::gated`]): vertical stack, horizontal stack with the
/// vertical-to-horizontal link, gated units, 1×1 output (+ residual after the first layer).
#[derive(Debug)]
pub struct GatedLayer {
    v: MaskedConv2d,
    h: MaskedConv2d,
    v2h: MaskedConv2d,
    out: MaskedConv2d,
    residual: bool,
}

impl GatedLayer {
    /// The input layer (`first`: from the image, 7 wide) or a block (3 wide).
    pub fn new(p: &nn::Path, c: &Config, first: bool) -> GatedLayer {
        use crate::gated::{BLOCK_KERNEL, INPUT_KERNEL};
        let h = c.hidden;
        let (cin, k, vm, hm) = if first {
            (c.channels, INPUT_KERNEL, Mask::Above, Mask::A)
        } else {
            (h, BLOCK_KERNEL, Mask::Vertical, Mask::B)
        };
        GatedLayer {
            v: MaskedConv2d::new(&(p / "v"), c, cin, 2 * h, (k, k), Some(vm), h, true),
            h: MaskedConv2d::new(&(p / "h"), c, cin, 2 * h, (1, k), Some(hm), h, true),
            v2h: MaskedConv2d::new(&(p / "v2h"), c, 2 * h, 2 * h, (1, 1), None, h, false),
            out: MaskedConv2d::new(&(p / "out"), c, h, h, (1, 1), Some(Mask::B), h, true),
            residual: c.residual && !first,
        }
    }

    /// (vertical stack `[B, cin, H, W]`, horizontal stack `[B, cin, H, W]`) → (vertical `[B, h,
    /// H, W]`, horizontal `[B, h, H, W]`); `drop` as for [`ResBlock::forward`].
    pub fn forward(&self, v: &Tensor, x: &Tensor, drop: f64) -> (Tensor, Tensor) {
        let vp = self.v.forward(v);
        let hp = self.h.forward(x) + self.v2h.forward(&vp);
        let e = self.out.forward(&dropout(gate(&hp), drop));
        let x = if self.residual { x + e } else { e };
        (gate(&vp), x)
    }
}

/// The upsampling network of a multi-scale model: unmasked 3×3 convolution of the small image,
/// ReLU, k×k stride-k transposed convolution, ReLU (names as in [`crate::multiscale`]).
#[derive(Debug)]
pub struct Upsample {
    conv: MaskedConv2d,
    deconv_w: Tensor,
    deconv_b: Tensor,
    k: i64,
}

impl Upsample {
    pub fn new(p: &nn::Path, c: &Config) -> Upsample {
        let (f, k) = (c.cond_features() as i64, c.factor() as i64);
        let bound = 1.0 / (f as f64).sqrt();
        let init = nn::Init::Uniform { lo: -bound, up: bound };
        let d = p / "deconv";
        Upsample {
            conv: MaskedConv2d::new(&(p / "conv"), c, c.channels, f as usize, (3, 3), None, f as usize, true),
            deconv_w: d.var("weight", &[f, f, k, k], init),
            deconv_b: d.var("bias", &[f], init),
            k,
        }
    }

    /// Scaled small image `[B, C, ⌈H/k⌉, ⌈W/k⌉]` → conditioning map `[B, c, H, W]`.
    pub fn forward(&self, small: &Tensor, h: i64, w: i64) -> Tensor {
        let f = self.conv.forward(small).relu();
        let k = self.k;
        f.conv_transpose2d(&self.deconv_w, Some(&self.deconv_b), [k, k], [0, 0], [0, 0], 1, [1, 1])
            .relu()
            .narrow(2, 0, h)
            .narrow(3, 0, w)
    }
}

/// Skip connections and the two ReLU 1×1 output layers, shared by every architecture.
#[derive(Debug)]
pub struct OutputStack {
    skips: Vec<MaskedConv2d>,
    out0: MaskedConv2d,
    out1: MaskedConv2d,
}

impl OutputStack {
    pub fn new(p: &nn::Path, c: &Config) -> OutputStack {
        let (h2, o) = (c.stream(), c.out_hidden);
        let skips = if c.skip {
            (0..c.layers)
                .map(|l| MaskedConv2d::new(&(p / "skips" / l), c, h2, o, (1, 1), Some(Mask::B), o, false))
                .collect()
        } else {
            Vec::new()
        };
        OutputStack {
            skips,
            out0: MaskedConv2d::new(&(p / "output" / 0), c, h2, o, (1, 1), Some(Mask::B), o, true),
            out1: MaskedConv2d::new(
                &(p / "output" / 1),
                c,
                o,
                c.logits(),
                (1, 1),
                Some(Mask::B),
                c.logits(),
                true,
            ),
        }
    }

    /// `xs`: the input of every layer and the last output, `[B, 2h, H, W]` each → logits
    /// `[B, C·levels, H, W]`.
    pub fn forward(&self, xs: &[Tensor]) -> Tensor {
        let last = xs.last().expect("at least the first layer's output");
        let mut o = self.out0.forward(&last.relu());
        for (s, x) in self.skips.iter().zip(xs) {
            o += s.forward(&x.relu());
        }
        self.out1.forward(&o.relu())
    }
}

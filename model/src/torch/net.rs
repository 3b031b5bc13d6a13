//! The libtorch model of every architecture: input scaling, forward pass to per-sub-pixel
//! logits, NLL, and import/export of the engine's weight file.

use std::collections::BTreeMap;

use tch::{nn, Device, Kind, Tensor};

use std::cell::Cell;

use crate::config::{Arch, Config, Head};
use crate::error::{ModelError, Result};
use crate::layers::Mask;
use crate::mixture::Layout;
use crate::torch::layers::{add_cond, cond_proj, GatedLayer, MaskedConv2d, OutputStack, ResBlock, Upsample};
use crate::torch::lstm::{DiagonalBiLstm, RowLstm};
use crate::weights::{tensor_specs, Tensor as WTensor, Weights};

#[derive(Debug)]
enum Body {
    Cnn(Vec<ResBlock>),
    Row(Vec<RowLstm>),
    Diag(Vec<DiagonalBiLstm>),
    /// The input layer and the blocks.
    Gated(Vec<GatedLayer>),
}

/// A PixelCNN, Row LSTM, Diagonal BiLSTM or gated PixelCNN in libtorch; for a multi-scale
/// model, the conditional network with its small-image network and upsampler.
#[derive(Debug)]
pub struct Net {
    pub config: Config,
    /// Dropout probability inside every layer while training (0: off, as for evaluation).
    pub dropout: Cell<f64>,
    /// The 7×7 mask-A input layer (the gated PixelCNN has its own, in its body).
    input: Option<MaskedConv2d>,
    input_cond: Option<MaskedConv2d>,
    body: Body,
    output: OutputStack,
    multi: Option<Box<(Net, Upsample)>>,
}

impl Net {
    /// Creates the variables under `root` (names as in the weight file).
    pub fn new(root: &nn::Path, config: &Config) -> Result<Net> {
        config.validate()?;
        let c = config;
        let input = (c.arch != Arch::GatedPixelCnn).then(|| {
            MaskedConv2d::new(
                &(root / "input"),
                c,
                c.channels,
                c.stream(),
                (7, 7),
                Some(Mask::A),
                c.stream(),
                true,
            )
        });
        let body = match c.arch {
            Arch::PixelCnn => Body::Cnn(
                (0..c.layers)
                    .map(|l| ResBlock::new(&(root / "blocks" / l), c))
                    .collect(),
            ),
            Arch::RowLstm => Body::Row((0..c.layers).map(|l| RowLstm::new(&(root / "layers" / l), c)).collect()),
            Arch::DiagonalBilstm => Body::Diag(
                (0..c.layers)
                    .map(|l| DiagonalBiLstm::new(&(root / "layers" / l), c))
                    .collect(),
            ),
            Arch::GatedPixelCnn => Body::Gated(
                std::iter::once(GatedLayer::new(&(root / "input"), c, true))
                    .chain((0..c.layers).map(|l| GatedLayer::new(&(root / "blocks" / l), c, false)))
                    .collect(),
            ),
        };
        let multi = match c.small() {
            Some(small) => Some(Box::new((
                Net::new(&(root / "small"), &small)?,
                Upsample::new(&(root / "upsample"), c),
            ))),
            None => None,
        };
        Ok(Net {
            config: c.clone(),
            dropout: Cell::new(0.0),
            input,
            input_cond: cond_proj(&(root / "input"), c, c.stream()),
            body,
            output: OutputStack::new(root, c),
            multi,
        })
    }

    /// Levels `[B, C, H, W]` (any integer kind) → scaled floats 2v/(V−1) − 1.
    pub fn scale(&self, x: &Tensor) -> Tensor {
        x.to_kind(Kind::Float) * (2.0 / (self.config.levels - 1) as f64) - 1.0
    }

    /// Scaled input `[B, C, H, W]` → logits `[B, C, levels, H, W]` (softmax head) or the
    /// mixture's parameters `[B, P, H, W]`; `m`: the conditioning map `[B, c, H, W]` of a
    /// multi-scale model's conditional network.
    pub fn forward(&self, x: &Tensor, m: Option<&Tensor>) -> Tensor {
        let drop = self.dropout.get();
        let xs = match (&self.body, &self.input) {
            (Body::Gated(layers), _) => {
                let (mut v, mut h) = (x.shallow_clone(), x.shallow_clone());
                let mut xs = Vec::with_capacity(layers.len());
                for layer in layers {
                    (v, h) = layer.forward(&v, &h, drop);
                    xs.push(h.shallow_clone());
                }
                xs
            }
            (body, Some(input)) => {
                let mut xs = vec![add_cond(input.forward(x), &self.input_cond, m)];
                for l in 0..self.config.layers {
                    let prev = &xs[l];
                    let next = match body {
                        Body::Cnn(b) => b[l].forward(prev, m, drop),
                        Body::Row(b) => b[l].forward(prev, m, drop),
                        Body::Diag(b) => b[l].forward(prev, m, drop),
                        Body::Gated(_) => unreachable!("handled above"),
                    };
                    xs.push(next);
                }
                xs
            }
            (_, None) => unreachable!("every other architecture has an input layer"),
        };
        let logits = self.output.forward(&xs);
        if !self.config.head.is_softmax() {
            return logits;
        }
        let (b, _, h, w) = logits.size4().expect("4-d logits");
        logits.view([b, self.config.channels as i64, self.config.levels as i64, h, w])
    }

    /// The mixture head's parameter layout (None for the softmax head).
    pub fn mixture(&self) -> Option<Layout> {
        match self.config.head {
            Head::Softmax => None,
            Head::LogisticMixture { components } => Some(Layout {
                channels: self.config.channels,
                k: components,
            }),
        }
    }

    /// For a scaled input `[B, C, H, W]`, the logits of each network in coding order: for a
    /// multi-scale model the small network's `[B, C, levels, ⌈H/k⌉, ⌈W/k⌉]`, then the conditional
    /// network's `[B, C, levels, H, W]`; otherwise the one network's. Differentiable in `x`
    /// (the causality tests take gradients through it).
    pub fn forward_all(&self, x: &Tensor) -> Vec<Tensor> {
        let Some((small_net, up)) = self.multi.as_deref() else {
            return vec![self.forward(x, None)];
        };
        let (_, _, h, w) = x.size4().expect("4-d input");
        let small = self.subsample(x);
        let m = up.forward(&small, h, w);
        vec![small_net.forward(&small, None), self.forward(x, Some(&m))]
    }

    /// Every k-th pixel each way of `[B, C, H, W]`: the small image of a multi-scale model.
    fn subsample(&self, t: &Tensor) -> Tensor {
        let k = self.config.factor() as i64;
        let (_, _, h, w) = t.size4().expect("4-d input");
        t.slice(2, 0, h, k).slice(3, 0, w, k)
    }

    /// The logits in the order [`crate::Engine::logits`] gives them (one image, flattened): the
    /// small image's first for a multi-scale model, each H × W × C × levels.
    pub fn engine_order_logits(&self, batch: &Tensor) -> Tensor {
        let flat: Vec<Tensor> = self
            .forward_all(&self.scale(batch))
            .into_iter()
            .map(|t| match t.dim() {
                4 => t.permute([0, 2, 3, 1]).flatten(0, -1),
                _ => t.permute([0, 3, 4, 1, 2]).flatten(0, -1),
            })
            .collect();
        Tensor::cat(&flat, 0)
    }

    /// NLL in nats of every image of a batch of levels `[B, C, H, W]` (int64): `[B]`. For a
    /// multi-scale model: the small image's NLL plus that of every pixel it does not hold.
    pub fn nll(&self, batch: &Tensor) -> Tensor {
        let outs = self.forward_all(&self.scale(batch));
        let [small_logits, full_logits] = outs.as_slice() else {
            return match self.mixture() {
                Some(layout) => crate::torch::mixture::nll(&outs[0], batch, layout, self.config.levels, None),
                None => Self::picked_nll(&outs[0], batch, None),
            };
        };
        let (_, _, h, w) = batch.size4().expect("4-d batch");
        let k = self.config.factor() as i64;
        let dev = batch.device();
        let on_grid = |n: i64| Tensor::arange(n, (Kind::Int64, dev)).remainder(k).eq(0);
        let known = on_grid(h).view([h, 1]).logical_and(&on_grid(w).view([1, w]));
        let unknown = known.logical_not().to_kind(Kind::Float).view([1, 1, 1, h, w]);
        Self::picked_nll(small_logits, &self.subsample(batch), None)
            + Self::picked_nll(full_logits, batch, Some(&unknown))
    }

    /// −Σ log p(value) over sub-pixels, weighted by `weight` (`[1, 1, 1, H, W]`) when given.
    fn picked_nll(logits: &Tensor, batch: &Tensor, weight: Option<&Tensor>) -> Tensor {
        let logp = logits.to_kind(Kind::Float).log_softmax(2, Kind::Float);
        let mut picked = logp.gather(2, &batch.unsqueeze(2), false);
        if let Some(wt) = weight {
            picked *= wt;
        }
        -picked.sum_dim_intlist([1, 2, 3, 4].as_slice(), false, Kind::Float)
    }
}

/// A [`Net`] with its own variable store.
pub struct Model {
    pub vs: nn::VarStore,
    pub net: Net,
}

impl Model {
    /// Fresh variables (PyTorch-style uniform initialisation) on `device`.
    pub fn new(config: &Config, device: Device) -> Result<Model> {
        let vs = nn::VarStore::new(device);
        let net = Net::new(&vs.root(), config)?;
        Ok(Model { vs, net })
    }

    /// A model holding the weights of an engine weight file.
    pub fn from_weights(w: &Weights, device: Device) -> Result<Model> {
        let mut m = Model::new(w.config(), device)?;
        m.load_weights(w)?;
        Ok(m)
    }

    /// Copies the weights of `w` into the variables.
    pub fn load_weights(&mut self, w: &Weights) -> Result<()> {
        if w.config() != &self.net.config {
            return Err(ModelError::Mismatch {
                what: "config",
                expected: format!("{:?}", self.net.config),
                found: format!("{:?}", w.config()),
            });
        }
        let vars = self.vs.variables();
        tch::no_grad(|| {
            for (name, t) in w.tensors() {
                let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
                let src = Tensor::from_slice(&t.data).reshape(shape.as_slice());
                let mut dst = vars[name].shallow_clone();
                dst.copy_(&src);
            }
        });
        Ok(())
    }

    /// The engine weight file of the current variables (names and shapes as the engine reads).
    pub fn export(&self) -> Result<Weights> {
        let vars = self.vs.variables();
        let mut tensors = BTreeMap::new();
        for spec in tensor_specs(&self.net.config) {
            let v = vars.get(&spec.name).ok_or_else(|| ModelError::Format {
                what: "libtorch variables".into(),
                expected: spec.name.clone(),
                found: "missing".into(),
            })?;
            let data: Vec<f32> = Vec::<f32>::try_from(v.to_device(Device::Cpu).to_kind(Kind::Float).flatten(0, -1))
                .map_err(|e| ModelError::bad("export", e.to_string()))?;
            tensors.insert(
                spec.name,
                WTensor {
                    shape: spec.shape,
                    data,
                },
            );
        }
        if vars.len() != tensors.len() {
            let extra: Vec<_> = vars.keys().filter(|k| !tensors.contains_key(*k)).collect();
            return Err(ModelError::Format {
                what: "libtorch variables".into(),
                expected: "only the weight file's tensors".into(),
                found: format!("{extra:?}"),
            });
        }
        Weights::from_parts(self.net.config.clone(), tensors)
    }
}

/// Number of CUDA devices libtorch sees (0 without CUDA).
pub fn cuda_devices() -> usize {
    tch::Cuda::device_count().max(0) as usize
}

/// `auto` (CUDA when present), `cpu` or `cuda`.
pub fn device(choice: &str) -> Result<Device> {
    match choice {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => Err(ModelError::bad(
            "device",
            "CUDA was asked for but libtorch sees no CUDA device (is libtorch_cuda.so linked and a GPU present?)",
        )),
        other => Err(ModelError::bad("device", format!("'{other}' (use auto, cpu or cuda)"))),
    }
}

/// Levels `[N, H, W, C]` u8 (as stored) → `[N, C, H, W]` int64 on `device`.
pub fn batch_tensor(pixels: &[u8], n: usize, h: usize, w: usize, c: usize, device: Device) -> Tensor {
    Tensor::from_slice(pixels)
        .view([n as i64, h as i64, w as i64, c as i64])
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Int64)
        .to_device(device)
}

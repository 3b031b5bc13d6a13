//! The libtorch model of every architecture: input scaling, forward pass to per-sub-pixel
//! logits, NLL, and import/export of the engine's weight file.

use std::collections::BTreeMap;

use tch::{nn, Device, Kind, Tensor};

use crate::config::{Arch, Config};
use crate::error::{ModelError, Result};
use crate::layers::Mask;
use crate::torch::layers::{DiagonalBiLstm, MaskedConv2d, OutputStack, ResBlock, RowLstm};
use crate::weights::{tensor_specs, Tensor as WTensor, Weights};

#[derive(Debug)]
enum Body {
    Cnn(Vec<ResBlock>),
    Row(Vec<RowLstm>),
    Diag(Vec<DiagonalBiLstm>),
}

/// A PixelCNN, Row LSTM or Diagonal BiLSTM in libtorch.
#[derive(Debug)]
pub struct Net {
    pub config: Config,
    input: MaskedConv2d,
    body: Body,
    output: OutputStack,
}

impl Net {
    /// Creates the variables under `root` (names as in the weight file).
    pub fn new(root: &nn::Path, config: &Config) -> Result<Net> {
        config.validate()?;
        let c = config;
        let input = MaskedConv2d::new(
            &(root / "input"),
            c,
            c.channels,
            c.stream(),
            (7, 7),
            Some(Mask::A),
            c.stream(),
            true,
        );
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
        };
        Ok(Net {
            config: c.clone(),
            input,
            body,
            output: OutputStack::new(root, c),
        })
    }

    /// Levels `[B, C, H, W]` (any integer kind) → scaled floats 2v/(V−1) − 1.
    pub fn scale(&self, x: &Tensor) -> Tensor {
        x.to_kind(Kind::Float) * (2.0 / (self.config.levels - 1) as f64) - 1.0
    }

    /// Scaled input `[B, C, H, W]` → logits `[B, C, levels, H, W]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let mut xs = vec![self.input.forward(x)];
        for l in 0..self.config.layers {
            let prev = &xs[l];
            let next = match &self.body {
                Body::Cnn(b) => b[l].forward(prev),
                Body::Row(b) => b[l].forward(prev),
                Body::Diag(b) => b[l].forward(prev),
            };
            xs.push(next);
        }
        let logits = self.output.forward(&xs);
        let (b, _, h, w) = logits.size4().expect("4-d logits");
        logits.view([b, self.config.channels as i64, self.config.levels as i64, h, w])
    }

    /// NLL in nats of every image of a batch of levels `[B, C, H, W]` (int64): `[B]`.
    pub fn nll(&self, batch: &Tensor) -> Tensor {
        let logits = self.forward(&self.scale(batch));
        let logp = logits.log_softmax(2, Kind::Float);
        let picked = logp.gather(2, &batch.unsqueeze(2), false);
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

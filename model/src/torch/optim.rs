//! The optimiser, written out so that its whole state can be checkpointed: Adam or RMSProp with
//! gradient-norm clipping, dynamic loss scaling for fp16, an exponential moving average of the
//! weights (Polyak averaging), and the learning-rate schedule.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Kind, Tensor};

use crate::error::{ModelError, Result};
use crate::torch::train::Optim;

/// Adam (β = 0.9, 0.999, ε = 1e-8) or RMSProp (α = 0.99, ε = 1e-8) over named variables, with
/// every moment estimate saved in the checkpoint so that a resumed run continues exactly.
pub struct Optimizer {
    kind: Optim,
    vars: Vec<(String, Tensor)>,
    /// First moments (Adam) per variable.
    m: Vec<Tensor>,
    /// Second moments per variable.
    v: Vec<Tensor>,
    /// Polyak average per variable (None: off).
    ema: Option<(f64, Vec<Tensor>)>,
    pub steps: i64,
}

/// What one step did.
pub struct StepOutcome {
    /// The gradient norm before clipping (of the unscaled gradients).
    pub grad_norm: f64,
    /// False when the gradients were not finite (the step was skipped; the loss scale shrinks).
    pub applied: bool,
}

impl Optimizer {
    /// `vars`: the model's variables by name (sorted, so the checkpoint order is fixed); `ema`:
    /// the averaging decay (e.g. 0.999), or None.
    pub fn new(kind: Optim, vars: BTreeMap<String, Tensor>, ema: Option<f64>) -> Optimizer {
        let vars: Vec<(String, Tensor)> = vars.into_iter().collect();
        let zeros = |vars: &[(String, Tensor)]| -> Vec<Tensor> { vars.iter().map(|(_, t)| t.zeros_like()).collect() };
        let (m, v) = (zeros(&vars), zeros(&vars));
        let ema = ema.map(|d| (d, vars.iter().map(|(_, t)| t.detach().copy()).collect()));
        Optimizer {
            kind,
            vars,
            m,
            v,
            ema,
            steps: 0,
        }
    }

    /// Back-propagates `loss × scale`, unscales, clips to `clip` (0 = off) and updates with
    /// learning rate `lr` unless a gradient is not finite.
    pub fn step(&mut self, loss: &Tensor, scale: f64, lr: f64, clip: f64) -> StepOutcome {
        for (_, t) in &mut self.vars {
            t.zero_grad();
        }
        (loss * scale).backward();
        tch::no_grad(|| {
            let grads: Vec<Tensor> = self.vars.iter().map(|(_, t)| t.grad() / scale).collect();
            let sq: Vec<Tensor> = grads
                .iter()
                .map(|g| g.to_kind(Kind::Float).square().sum(Kind::Float))
                .collect();
            let norm = Tensor::stack(&sq, 0).sum(Kind::Float).sqrt().double_value(&[]);
            if !norm.is_finite() {
                return StepOutcome {
                    grad_norm: norm,
                    applied: false,
                };
            }
            let factor = if clip > 0.0 && norm > clip { clip / norm } else { 1.0 };
            self.steps += 1;
            let t = self.steps as f64;
            for (i, g) in grads.into_iter().enumerate() {
                let g = g * factor;
                let p = &mut self.vars[i].1;
                match self.kind {
                    Optim::Adam => {
                        let (b1, b2) = (0.9, 0.999);
                        let _ = self.m[i].g_mul_scalar_(b1).g_add_(&(&g * (1.0 - b1)));
                        let _ = self.v[i].g_mul_scalar_(b2).g_add_(&(g.square() * (1.0 - b2)));
                        let step = lr / (1.0 - b1.powf(t));
                        let denom = (&self.v[i] / (1.0 - b2.powf(t))).sqrt() + 1e-8;
                        let _ = p.g_sub_(&(&self.m[i] / denom * step));
                    }
                    Optim::Rmsprop => {
                        let a = 0.99;
                        let _ = self.v[i].g_mul_scalar_(a).g_add_(&(g.square() * (1.0 - a)));
                        let _ = p.g_sub_(&(&g / (self.v[i].sqrt() + 1e-8) * lr));
                    }
                }
            }
            if let Some((d, avg)) = &mut self.ema {
                // Early on the average follows faster (as in TensorFlow's ExponentialMovingAverage).
                let d = d.min((1.0 + t) / (10.0 + t));
                for (a, (_, p)) in avg.iter_mut().zip(&self.vars) {
                    let _ = a.g_mul_scalar_(d).g_add_(&(p.detach() * (1.0 - d)));
                }
            }
            StepOutcome {
                grad_norm: norm,
                applied: true,
            }
        })
    }

    /// Runs `f` with the averaged weights in the variables (the trained weights otherwise).
    pub fn with_average<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let Some((_, avg)) = &self.ema else {
            return f();
        };
        let saved: Vec<Tensor> = tch::no_grad(|| {
            self.vars
                .iter_mut()
                .zip(avg)
                .map(|((_, p), a)| {
                    let keep = p.detach().copy();
                    p.detach().copy_(a);
                    keep
                })
                .collect()
        });
        let out = f();
        tch::no_grad(|| {
            for ((_, p), s) in self.vars.iter_mut().zip(&saved) {
                p.detach().copy_(s);
            }
        });
        out
    }

    /// Saves moments, averages and the step count (safetensors).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut named: Vec<(String, Tensor)> = Vec::new();
        for (i, (n, _)) in self.vars.iter().enumerate() {
            named.push((format!("m.{n}"), self.m[i].shallow_clone()));
            named.push((format!("v.{n}"), self.v[i].shallow_clone()));
            if let Some((_, avg)) = &self.ema {
                named.push((format!("ema.{n}"), avg[i].shallow_clone()));
            }
        }
        named.push(("steps".into(), Tensor::from_slice(&[self.steps])));
        let tmp = path.with_extension("tmp");
        Tensor::write_safetensors(&named, &tmp).map_err(|e| ModelError::bad("checkpoint", e.to_string()))?;
        std::fs::rename(&tmp, path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Restores what [`Optimizer::save`] wrote (a missing average starts from the weights).
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let bad = |e: String| ModelError::format(format!("optimiser state {}", path.display()), "a saved state", e);
        let got: BTreeMap<String, Tensor> = Tensor::read_safetensors(path)
            .map_err(|e| bad(e.to_string()))?
            .into_iter()
            .collect();
        let dev = self.vars.first().map(|(_, t)| t.device());
        tch::no_grad(|| -> Result<()> {
            for (i, (n, _)) in self.vars.iter().enumerate() {
                for (key, dst) in [(format!("m.{n}"), &mut self.m[i]), (format!("v.{n}"), &mut self.v[i])] {
                    let src = got.get(&key).ok_or_else(|| bad(format!("no {key}")))?;
                    if src.size() != dst.size() {
                        return Err(bad(format!("{key} has shape {:?}", src.size())));
                    }
                    dst.copy_(&src.to_device(dev.expect("variables")));
                }
                if let Some((_, avg)) = &mut self.ema {
                    if let Some(src) = got.get(&format!("ema.{n}")) {
                        avg[i].copy_(&src.to_device(dev.expect("variables")));
                    }
                }
            }
            Ok(())
        })?;
        self.steps = got.get("steps").map_or(0, |t| t.int64_value(&[0]));
        Ok(())
    }
}

/// The learning-rate schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// × `decay` after every epoch (the paper's setup).
    Exponential { decay: f64 },
    /// From the base rate down to `min` over the run (its time budget, or its epochs) along a
    /// half cosine: a warm restart at every resumed run, so runs continue across sessions.
    Cosine { min: f64 },
}

impl Schedule {
    /// The rate at `progress` ∈ [0, 1] of the run after `epochs_done` epochs of it, with a
    /// linear warm-up over the first `warmup` optimisation steps of the run.
    pub fn lr(&self, base: f64, progress: f64, epochs_done: usize, step: usize, warmup: usize) -> f64 {
        let lr = match *self {
            Schedule::Exponential { decay } => base * decay.powi(epochs_done as i32),
            Schedule::Cosine { min } => {
                let p = progress.clamp(0.0, 1.0);
                min + (base - min) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
            }
        };
        if step < warmup {
            lr * (step + 1) as f64 / warmup as f64
        } else {
            lr
        }
    }
}

/// Dynamic loss scaling for fp16: doubled after 1000 good steps, halved on an overflow.
pub struct LossScale {
    pub scale: f64,
    good: usize,
}

impl LossScale {
    pub fn new(enabled: bool) -> LossScale {
        LossScale {
            scale: if enabled { 65536.0 } else { 1.0 },
            good: 0,
        }
    }

    pub fn update(&mut self, applied: bool) {
        if self.scale == 1.0 && applied {
            return;
        }
        if applied {
            self.good += 1;
            if self.good >= 1000 {
                self.scale = (self.scale * 2.0).min(2f64.powi(24));
                self.good = 0;
            }
        } else {
            self.scale = (self.scale / 2.0).max(1.0);
            self.good = 0;
        }
    }
}

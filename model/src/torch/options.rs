//! What a training run is given and reports: the optimiser, the CUDA arithmetic, the options,
//! and the progress and summary types a [`Monitor`] and the caller see.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tch::Device;

use crate::config::Config;
use crate::error::{ModelError, Result};
use crate::torch::optim::Schedule;

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optim {
    Adam,
    /// RMSProp, as in the paper.
    Rmsprop,
}

impl std::str::FromStr for Optim {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Optim> {
        match s {
            "adam" => Ok(Optim::Adam),
            "rmsprop" => Ok(Optim::Rmsprop),
            _ => Err(ModelError::bad("optimizer", format!("'{s}' (use adam or rmsprop)"))),
        }
    }
}

/// Arithmetic of the forward and backward passes on CUDA (on the CPU everything is fp32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Plain fp32 (TF32 switched off with `NVIDIA_TF32_OVERRIDE=0`).
    Fp32,
    /// fp32 tensors, TF32 matrix units for convolutions (cuDNN's default) and matrix products.
    Tf32,
    /// fp16 autocast with dynamic loss scaling; weights, optimiser and loss stay fp32.
    Fp16,
}

impl std::str::FromStr for Precision {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Precision> {
        match s {
            "fp32" => Ok(Precision::Fp32),
            "tf32" => Ok(Precision::Tf32),
            "fp16" => Ok(Precision::Fp16),
            _ => Err(ModelError::bad("precision", format!("'{s}' (use fp32, tf32 or fp16)"))),
        }
    }
}

/// Sets the process-wide switches `precision` needs; call before the first CUDA operation.
pub fn set_precision(precision: Precision) {
    match precision {
        Precision::Fp32 => std::env::set_var("NVIDIA_TF32_OVERRIDE", "0"),
        Precision::Tf32 => std::env::set_var("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "1"),
        Precision::Fp16 => {}
    }
}

/// Everything `train` needs besides the data.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub config: Config,
    pub batch: usize,
    pub lr: f64,
    pub optimizer: Optim,
    pub schedule: Schedule,
    /// Linear learning-rate warm-up over this many steps of each run.
    pub warmup: usize,
    /// Dropout probability inside every layer (0 = off).
    pub dropout: f64,
    /// Polyak averaging of the weights with this decay (None = off); the average is what gets
    /// validated and exported.
    pub ema: Option<f64>,
    pub precision: Precision,
    /// Gradient-norm clipping (0 = off).
    pub clip: f64,
    pub epochs: usize,
    /// Stop after this many minutes of this run (then validate and save).
    pub minutes: Option<f64>,
    /// Images per epoch (default: the whole fixed training set, or 4096 random crops).
    pub epoch_size: Option<usize>,
    pub valid_size: usize,
    pub seed: u64,
    pub device: Device,
    /// The engine weight file written (best validation so far).
    pub out: PathBuf,
    /// Checkpoint base path: `{checkpoint}.safetensors` and `{checkpoint}.json`.
    pub checkpoint: PathBuf,
    pub resume: bool,
    /// Start from this weight file's weights (same config) instead of a fresh initialisation
    /// (ignored when a checkpoint is resumed).
    pub init: Option<PathBuf>,
    /// CSV learning curve (appended to on resume).
    pub log: Option<PathBuf>,
}

/// Progress of one optimisation step.
#[derive(Clone, Debug)]
pub struct StepInfo {
    pub epoch: usize,
    pub done: usize,
    pub epoch_images: usize,
    pub bits_per_dim: f64,
    pub images_per_sec: f64,
}

/// The end of an epoch.
#[derive(Clone, Debug, Serialize)]
pub struct EpochInfo {
    pub epoch: usize,
    pub images: u64,
    pub seconds: f64,
    pub lr: f64,
    pub train_bits_per_dim: f64,
    pub valid_bits_per_dim: f64,
    pub valid_nats_per_image: f64,
    /// Training throughput of this epoch (validation excluded).
    pub subpixels_per_sec: f64,
}

/// Called as training goes (the CLI draws a progress bar).
pub trait Monitor {
    fn step(&mut self, _s: &StepInfo) {}
    fn epoch(&mut self, _e: &EpochInfo) {}
}

/// What a training run did.
#[derive(Clone, Debug, Serialize)]
pub struct TrainSummary {
    pub epochs: usize,
    pub images: u64,
    pub seconds: f64,
    pub best_valid_bits_per_dim: f64,
    pub last_valid_bits_per_dim: f64,
    /// Wall-clock seconds per 1,000 training images in this run (validation excluded).
    pub seconds_per_1000_images: f64,
    /// Training sub-pixels per second in this run (validation excluded).
    pub subpixels_per_sec: f64,
    /// Whether batches were cut on the training device.
    pub batches_on_device: bool,
}

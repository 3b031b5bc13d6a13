//! `pixelrnn train` and `pixelrnn eval` (libtorch, cargo feature `torch`).

use std::path::PathBuf;

#[cfg(not(feature = "torch"))]
use anyhow::bail;
use anyhow::Result;
use clap::Args;

use crate::report::Reporter;

/// Where the data is and how to read it.
#[derive(Args, Clone, Debug)]
pub struct DataArgs {
    /// Convert image folders to grey (luminance).
    #[arg(long)]
    pub grey: bool,
    /// Crop size for image folders.
    #[arg(long, default_value_t = 32)]
    pub crop: usize,
    /// Give image-folder crops a synthetic alpha channel (soft-edged ellipses), for
    /// grey+alpha and RGBA models.
    #[arg(long)]
    pub synthetic_alpha: bool,
    /// Binarise 8-bit data to 2 levels: threshold (≥128) or stochastic (p = v/255).
    #[arg(long)]
    pub binarize: Option<String>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// pixel-cnn, row-lstm, diagonal-bilstm or gated-pixel-cnn.
    #[arg(long, default_value = "pixel-cnn")]
    pub arch: String,
    /// Output head: softmax (256-way per sub-pixel, the paper's) or logistic-mixture
    /// (PixelCNN++'s discretized mixture of logistics with channel coupling).
    #[arg(long, default_value = "softmax")]
    pub head: String,
    /// Mixture components of the logistic-mixture head.
    #[arg(long, default_value_t = pixelrnn_model::config::DEFAULT_COMPONENTS)]
    pub components: usize,
    /// IDX file or folder (MNIST, Fashion-MNIST), CIFAR-10 binary folder, or image folder
    /// (with train/ and valid/ subfolders, or plain).
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Weight file to write (the best validation model so far).
    #[arg(long, short)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    /// h: the residual stream has 2h features.
    #[arg(long, default_value_t = 16)]
    pub hidden: usize,
    #[arg(long, default_value_t = 32)]
    pub out_hidden: usize,
    #[arg(long)]
    pub no_residual: bool,
    #[arg(long)]
    pub no_skip: bool,
    #[command(flatten)]
    pub multi: MultiArgs,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// adam or rmsprop.
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// Learning-rate schedule: exp (× --lr-decay after each epoch) or cosine (down to --lr-min
    /// over this run's --minutes, or its --epochs; a warm restart on every --resume).
    #[arg(long, default_value = "exp")]
    pub schedule: String,
    /// Learning rate multiplier after each epoch (--schedule exp).
    #[arg(long, default_value_t = 0.99)]
    pub lr_decay: f64,
    /// Final learning rate of --schedule cosine (default: --lr / 100).
    #[arg(long)]
    pub lr_min: Option<f64>,
    /// Linear learning-rate warm-up over this many steps of each run.
    #[arg(long, default_value_t = 0)]
    pub warmup: usize,
    /// Dropout probability inside every layer (training only).
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f64,
    /// Polyak averaging of the weights with this decay (e.g. 0.999); the average is validated
    /// and written. 0 = off.
    #[arg(long, default_value_t = 0.0)]
    pub ema: f64,
    /// Arithmetic on CUDA: tf32, fp16 (autocast, dynamic loss scaling) or fp32.
    #[arg(long, default_value = "tf32")]
    pub precision: String,
    /// Gradient-norm clipping (0 = off).
    #[arg(long, default_value_t = 1.0)]
    pub clip: f64,
    #[arg(long, default_value_t = 1000)]
    pub epochs: usize,
    /// Stop after this many minutes (then validate and save).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Images per epoch (default: the whole training set, or 4096 crops for image folders).
    #[arg(long)]
    pub epoch_size: Option<usize>,
    /// Validation images.
    #[arg(long, default_value_t = 1000)]
    pub valid_size: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Checkpoint base path (default: OUT with .ckpt); resume with --resume.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long)]
    pub resume: bool,
    /// Start from the weights of this model file (same architecture and sizes), e.g. to train a
    /// finished model further with a new learning-rate schedule.
    #[arg(long, value_name = "WEIGHTS")]
    pub init: Option<PathBuf>,
    /// CSV learning curve (default: OUT with .csv).
    #[arg(long)]
    pub log: Option<PathBuf>,
}

/// Multi-scale PixelRNN: an unconditional network over every k-th pixel, and the main network
/// conditioned on it.
#[derive(Args, Debug)]
pub struct MultiArgs {
    /// Train a multi-scale model with subsampling factor K (2–8); 0 = single-scale.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub multiscale: usize,
    /// Features of the upsampled conditioning map.
    #[arg(long, default_value_t = 16)]
    pub cond_features: usize,
    /// Architecture of the small-image network (default: --arch).
    #[arg(long)]
    pub small_arch: Option<String>,
    /// h of the small-image network (default: --hidden).
    #[arg(long)]
    pub small_hidden: Option<usize>,
    /// Layers of the small-image network (default: --layers).
    #[arg(long)]
    pub small_layers: Option<usize>,
    /// Output width of the small-image network (default: --out-hidden).
    #[arg(long)]
    pub small_out_hidden: Option<usize>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Weight file.
    #[arg(long)]
    pub model: PathBuf,
    /// Data, as for `train` (its validation/test part is used).
    pub data: PathBuf,
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Images to evaluate.
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
    /// auto, cpu or cuda (for the libtorch NLL).
    #[arg(long, default_value = "auto")]
    pub device: String,
    #[arg(long)]
    pub threads: Option<usize>,
}

#[cfg(not(feature = "torch"))]
pub fn train(_: &Reporter, _: &TrainArgs) -> Result<()> {
    bail!("this pixelrnn was built without libtorch; run scripts/setup-torch and build with --features torch")
}

#[cfg(not(feature = "torch"))]
pub fn eval(_: &Reporter, _: &EvalArgs) -> Result<()> {
    bail!("this pixelrnn was built without libtorch; run scripts/setup-torch and build with --features torch")
}

/// Prints the libtorch devices this build can train on, one per line.
pub fn devices() -> Result<()> {
    #[cfg(feature = "torch")]
    {
        println!("cpu");
        for i in 0..pixelrnn_model::torch::cuda_devices() {
            println!("cuda:{i}");
        }
    }
    #[cfg(not(feature = "torch"))]
    println!("cpu (no libtorch in this build: train and eval need --features torch)");
    Ok(())
}

#[cfg(feature = "torch")]
pub use run::{eval, train};

#[cfg(feature = "torch")]
mod run;

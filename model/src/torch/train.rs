//! The training loop: Adam or RMSProp ([`crate::torch::optim`]), exponential or cosine
//! learning-rate schedules with warm-up, gradient clipping, dropout, Polyak averaging, fp16 with
//! loss scaling or TF32 on CUDA, batches cut on the device, validation each epoch, a CSV learning
//! curve, a time budget, and checkpoints (optimiser state included) that a later run resumes from.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::Kind;

use crate::config::Config;
use crate::data::{Data, Images};
use crate::error::{ModelError, Result};
use crate::rng::SplitMix64;
use crate::torch::batches::Batches;
use crate::torch::net::{batch_tensor, Model};
use crate::torch::optim::{LossScale, Optimizer};
use crate::weights::Weights;

pub use crate::torch::options::{
    set_precision, EpochInfo, Monitor, Optim, Precision, StepInfo, TrainOptions, TrainSummary,
};

#[derive(Serialize, Deserialize)]
struct State {
    config: Config,
    epoch: usize,
    images: u64,
    seconds: f64,
    lr: f64,
    best_valid: f64,
    /// The loss scale of an fp16 run.
    #[serde(default = "one")]
    loss_scale: f64,
}

fn one() -> f64 {
    1.0
}

/// Mean NLL over `images`: (nats per image, bits per sub-pixel).
pub fn evaluate(model: &Model, images: &Images, batch: usize) -> (f64, f64) {
    let dims = (images.h * images.w * images.c) as f64;
    let mut total = 0.0;
    tch::no_grad(|| {
        for start in (0..images.n).step_by(batch.max(1)) {
            let idx: Vec<usize> = (start..(start + batch).min(images.n)).collect();
            let b = images.subset(&idx);
            let x = batch_tensor(&b.pixels, b.n, b.h, b.w, b.c, model.vs.device());
            total += model.net.nll(&x).sum(Kind::Double).double_value(&[]);
        }
    });
    let nats = total / images.n as f64;
    (nats, nats / dims / std::f64::consts::LN_2)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let io = |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn with_ext(base: &Path, ext: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

/// Trains `opts.config` on `data`, writing the best model to `opts.out`.
pub fn train(data: &Data, opts: &TrainOptions, monitor: &mut dyn Monitor) -> Result<TrainSummary> {
    let c = &opts.config;
    if c.channels != data.channels() || c.levels != data.levels() {
        return Err(ModelError::Mismatch {
            what: "data layout",
            expected: format!("{} channel(s), {} levels", c.channels, c.levels),
            found: format!("{} channel(s), {} levels", data.channels(), data.levels()),
        });
    }
    let cuda = opts.device.is_cuda();
    if cuda {
        set_precision(opts.precision);
        tch::Cuda::cudnn_set_benchmark(true);
    }
    tch::manual_seed(opts.seed as i64);
    let mut model = Model::new(c, opts.device)?;
    let (ckpt_w, ckpt_s, ckpt_o) = (
        with_ext(&opts.checkpoint, ".safetensors"),
        with_ext(&opts.checkpoint, ".json"),
        with_ext(&opts.checkpoint, ".optim.safetensors"),
    );
    let mut state = State {
        config: c.clone(),
        epoch: 0,
        images: 0,
        seconds: 0.0,
        lr: opts.lr,
        best_valid: f64::INFINITY,
        loss_scale: 1.0,
    };
    let resuming = opts.resume && ckpt_s.exists();
    if resuming {
        let s: State = serde_json::from_slice(&std::fs::read(&ckpt_s).map_err(|source| ModelError::Io {
            path: ckpt_s.display().to_string(),
            source,
        })?)
        .map_err(|e| ModelError::format("checkpoint state", "JSON", e))?;
        if &s.config != c {
            return Err(ModelError::Mismatch {
                what: "checkpoint config",
                expected: format!("{c:?}"),
                found: format!("{:?} (train with the same flags, or without --resume)", s.config),
            });
        }
        model.load_weights(&Weights::load(&ckpt_w)?)?;
        state = s;
    } else if let Some(p) = &opts.init {
        model.load_weights(&Weights::load(p)?)?;
    }
    let mut opt = Optimizer::new(opts.optimizer, model.vs.variables().into_iter().collect(), opts.ema);
    if resuming && ckpt_o.exists() {
        opt.load(&ckpt_o)?;
    }
    let fp16 = cuda && opts.precision == Precision::Fp16;
    let mut scale = LossScale::new(fp16);
    if fp16 && resuming {
        scale.scale = state.loss_scale.max(1.0);
    }
    let mut log = open_log(opts)?;
    let valid = data.valid_set(opts.valid_size);
    let batches = Batches::new(data, opts.device);
    let dims = c.channels as f64;
    let start = Instant::now();
    let (mut train_time, mut run_images, mut run_subpixels, mut run_steps) = (0.0f64, 0u64, 0f64, 0usize);
    let mut last_valid = f64::NAN;
    let budget = opts.minutes.map(|m| m * 60.0);
    let out_of_time = |t: &Instant| budget.is_some_and(|b| t.elapsed().as_secs_f64() >= b);
    let first_epoch = state.epoch;
    while state.epoch < opts.epochs && !out_of_time(&start) {
        let mut rng = SplitMix64::new(opts.seed ^ (state.epoch as u64).wrapping_mul(0x9E37_79B9));
        let n_epoch = opts.epoch_size.or(data.train_len()).unwrap_or(4096);
        let order: Vec<usize> = match data.train_len() {
            Some(n) => {
                let mut v: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    v.swap(i, rng.below(i as u64 + 1) as usize);
                }
                v.into_iter().cycle().take(n_epoch).collect()
            }
            None => vec![0; n_epoch],
        };
        let (mut sum_bpd, mut steps, mut done) = (0.0, 0usize, 0usize);
        let (t_epoch, mut epoch_train, mut epoch_subpixels) = (Instant::now(), 0.0f64, 0f64);
        model.net.dropout.set(opts.dropout);
        for idx in order.chunks(opts.batch) {
            let t = Instant::now();
            let progress = match budget {
                Some(b) => start.elapsed().as_secs_f64() / b,
                None => (state.epoch - first_epoch) as f64 / (opts.epochs - first_epoch).max(1) as f64,
            };
            state.lr = opts.schedule.lr(opts.lr, progress, state.epoch, run_steps, opts.warmup);
            let x = batches.batch(idx, &mut rng);
            let (b, _, h, w) = x.size4().expect("4-d batch");
            let loss = tch::autocast(fp16, || model.net.nll(&x).mean(Kind::Float));
            let bpd = loss.double_value(&[]) / (dims * (h * w) as f64) / std::f64::consts::LN_2;
            if !bpd.is_finite() {
                return Err(ModelError::bad(
                    "lr",
                    format!("training diverged (loss {bpd}); lower --lr or set --clip"),
                ));
            }
            let outcome = opt.step(&loss, scale.scale, state.lr, opts.clip);
            scale.update(outcome.applied);
            if !outcome.applied && !fp16 {
                return Err(ModelError::bad(
                    "lr",
                    "training diverged (gradients not finite); lower --lr or set --clip",
                ));
            }
            let dt = t.elapsed().as_secs_f64();
            let subpixels = (b * h * w) as f64 * dims;
            (train_time, epoch_train) = (train_time + dt, epoch_train + dt);
            (run_subpixels, epoch_subpixels) = (run_subpixels + subpixels, epoch_subpixels + subpixels);
            run_steps += 1;
            sum_bpd += bpd;
            steps += 1;
            done += idx.len();
            run_images += idx.len() as u64;
            monitor.step(&StepInfo {
                epoch: state.epoch + 1,
                done,
                epoch_images: n_epoch,
                bits_per_dim: sum_bpd / steps as f64,
                images_per_sec: done as f64 / t_epoch.elapsed().as_secs_f64(),
            });
            if out_of_time(&start) {
                break;
            }
        }
        model.net.dropout.set(0.0);
        let ((vn, vb), weights) = opt.with_average(|| (evaluate(&model, &valid, opts.batch.max(16)), model.export()));
        let weights = weights?;
        last_valid = vb;
        state.epoch += 1;
        state.images += done as u64;
        state.seconds += t_epoch.elapsed().as_secs_f64();
        state.loss_scale = scale.scale;
        let info = EpochInfo {
            epoch: state.epoch,
            images: state.images,
            seconds: state.seconds,
            lr: state.lr,
            train_bits_per_dim: sum_bpd / steps.max(1) as f64,
            valid_bits_per_dim: vb,
            valid_nats_per_image: vn,
            subpixels_per_sec: epoch_subpixels / epoch_train.max(1e-9),
        };
        if let Some(f) = log.as_mut() {
            let _ = writeln!(
                f,
                "{},{},{:.1},{:.3e},{:.5},{:.5},{:.3},{:.0}",
                info.epoch, info.images, info.seconds, info.lr, info.train_bits_per_dim, vb, vn, info.subpixels_per_sec
            );
        }
        monitor.epoch(&info);
        if vb < state.best_valid {
            state.best_valid = vb;
            write_atomic(&opts.out, &weights.to_bytes())?;
        }
        // The checkpoint holds the trained (not averaged) weights; the average is in the
        // optimiser state.
        write_atomic(&ckpt_w, &model.export()?.to_bytes())?;
        opt.save(&ckpt_o)?;
        write_atomic(
            &ckpt_s,
            serde_json::to_string_pretty(&state)
                .expect("state serialises")
                .as_bytes(),
        )?;
    }
    Ok(TrainSummary {
        epochs: state.epoch,
        images: state.images,
        seconds: start.elapsed().as_secs_f64(),
        best_valid_bits_per_dim: state.best_valid,
        last_valid_bits_per_dim: last_valid,
        seconds_per_1000_images: if run_images > 0 {
            train_time * 1000.0 / run_images as f64
        } else {
            f64::NAN
        },
        subpixels_per_sec: run_subpixels / train_time.max(1e-9),
        batches_on_device: batches.on_device(),
    })
}

/// Opens the CSV learning curve (appending on resume).
fn open_log(opts: &TrainOptions) -> Result<Option<std::fs::File>> {
    let Some(p) = &opts.log else { return Ok(None) };
    let fresh = !(opts.resume && p.exists());
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(!fresh)
        .write(true)
        .truncate(fresh)
        .open(p)
        .map_err(|source| ModelError::Io {
            path: p.display().to_string(),
            source,
        })?;
    if fresh {
        let _ = writeln!(
            f,
            "epoch,images,seconds,lr,train_bits_per_dim,valid_bits_per_dim,valid_nats_per_image,subpixels_per_sec"
        );
    }
    Ok(Some(f))
}

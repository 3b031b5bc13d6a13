//! The libtorch half of `pixelrnn train` and `pixelrnn eval` (cargo feature `torch`): data,
//! model configuration from the arguments, the training loop's progress and reports, evaluation
//! with libtorch beside the engine.

use std::time::Instant;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use pixelrnn_codec::{encode, EncodeOptions, Image};
use pixelrnn_model::data::{self, DataOptions, Images};
use pixelrnn_model::torch::{self, train::EpochInfo, Model, Monitor, StepInfo, TrainOptions};
use pixelrnn_model::{Arch, Config, Engine, Head, ModelError, MultiScale, Weights};
use serde::Serialize;

use super::*;

fn parse_arch(s: &str) -> Result<Arch> {
    s.parse().map_err(|e| anyhow::anyhow!("{e}"))
}

fn open_data(path: &std::path::Path, a: &DataArgs) -> Result<data::Data> {
    let o = DataOptions {
        crop: a.crop,
        grey: a.grey,
        alpha: a.synthetic_alpha,
        binarize: a.binarize.as_deref().map(str::parse).transpose()?,
        ..Default::default()
    };
    data::open(path, &o).with_context(|| format!("cannot read the data at {}", path.display()))
}

fn with_ext(p: &std::path::Path, ext: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

struct Bar<'a> {
    bar: ProgressBar,
    rep: &'a Reporter,
}

impl Monitor for Bar<'_> {
    fn step(&mut self, s: &StepInfo) {
        self.bar.set_length(s.epoch_images as u64);
        self.bar.set_position(s.done as u64);
        self.bar.set_message(format!(
            "epoch {} train {:.4} bits/dim, {:.0} img/s",
            s.epoch, s.bits_per_dim, s.images_per_sec
        ));
    }
    fn epoch(&mut self, e: &EpochInfo) {
        self.bar.suspend(|| {
            self.rep.line(&format!(
                "epoch {:>3}: train {:.4} bits/dim, valid {:.4} bits/dim ({:.2} nats/image), {} images, {:.0} s",
                e.epoch, e.train_bits_per_dim, e.valid_bits_per_dim, e.valid_nats_per_image, e.images, e.seconds
            ))
        });
    }
}

fn multiscale(a: &TrainArgs) -> Result<Option<MultiScale>> {
    let m = &a.multi;
    if m.multiscale == 0 {
        return Ok(None);
    }
    Ok(Some(MultiScale {
        factor: m.multiscale,
        features: m.cond_features,
        small_arch: parse_arch(m.small_arch.as_deref().unwrap_or(&a.arch))?,
        small_hidden: m.small_hidden.unwrap_or(a.hidden),
        small_layers: m.small_layers.unwrap_or(a.layers),
        small_out_hidden: m.small_out_hidden.unwrap_or(a.out_hidden),
    }))
}

fn parse_head(head: &str, components: usize) -> Result<Head> {
    match head {
        "softmax" => Ok(Head::Softmax),
        "logistic-mixture" | "logistic_mixture" | "mixture" => Ok(Head::LogisticMixture { components }),
        other => bail!("--head '{other}' is not known (use softmax or logistic-mixture)"),
    }
}

pub fn train(rep: &Reporter, a: &TrainArgs) -> Result<()> {
    if !(0.0..1.0).contains(&a.dropout) || !(0.0..1.0).contains(&a.ema) {
        bail!("--dropout and --ema must be in [0, 1)");
    }
    let data = open_data(&a.data, &a.data_args)?;
    let config = Config {
        arch: parse_arch(&a.arch)?,
        channels: data.channels(),
        levels: data.levels(),
        hidden: a.hidden,
        layers: a.layers,
        out_hidden: a.out_hidden,
        residual: !a.no_residual,
        skip: !a.no_skip,
        multiscale: multiscale(a)?,
        head: parse_head(&a.head, a.components)?,
        ..Config::pixel_cnn(1, 1, 1, 1)
    };
    config.validate()?;
    let device = torch::device(&a.device)?;
    let opts = TrainOptions {
        config: config.clone(),
        batch: a.batch.max(1),
        lr: a.lr,
        optimizer: a.optimizer.parse()?,
        schedule: match a.schedule.as_str() {
            "exp" => torch::Schedule::Exponential { decay: a.lr_decay },
            "cosine" => torch::Schedule::Cosine {
                min: a.lr_min.unwrap_or(a.lr / 100.0),
            },
            other => bail!("--schedule '{other}' is not known (use exp or cosine)"),
        },
        warmup: a.warmup,
        dropout: a.dropout,
        ema: (a.ema > 0.0).then_some(a.ema),
        precision: a.precision.parse()?,
        clip: a.clip,
        epochs: a.epochs,
        minutes: a.minutes,
        epoch_size: a.epoch_size,
        valid_size: a.valid_size,
        seed: a.seed,
        device,
        out: a.out.clone(),
        checkpoint: a.checkpoint.clone().unwrap_or_else(|| with_ext(&a.out, ".ckpt")),
        resume: a.resume,
        init: a.init.clone(),
        log: Some(a.log.clone().unwrap_or_else(|| with_ext(&a.out, ".csv"))),
    };
    rep.detail(&format!("training {config:?} on {device:?}"));
    let bar = rep.progress(0, "training");
    bar.set_style(ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} eta {eta}").expect("valid"));
    let mut mon = Bar { bar, rep };
    let summary = torch::train(&data, &opts, &mut mon)?;
    mon.bar.finish_and_clear();
    #[derive(Serialize)]
    struct Out<'a> {
        arch: &'a str,
        device: String,
        out: String,
        #[serde(flatten)]
        summary: &'a torch::TrainSummary,
    }
    let out = Out {
        arch: config.arch.name(),
        device: format!("{device:?}"),
        out: a.out.display().to_string(),
        summary: &summary,
    };
    rep.result(&out, &format!(
        "{}: {} epochs, {} images in {:.0} s ({:.2} s per 1000 images, {:.0} sub-pixels/s), validation {:.4} bits/dim (best {:.4}), wrote {}",
        config.arch.name(),
        summary.epochs,
        summary.images,
        summary.seconds,
        summary.seconds_per_1000_images,
        summary.subpixels_per_sec,
        summary.last_valid_bits_per_dim,
        summary.best_valid_bits_per_dim,
        a.out.display()
    ));
    Ok(())
}

/// Σ −ln p of the engine's probabilities for every sub-pixel of every image.
fn engine_nats(engine: &Engine, images: &Images, threads: usize) -> Result<f64> {
    let mut total = 0.0;
    for i in 0..images.n {
        let px = images.image(i);
        engine.batch::<ModelError>(px, images.w, images.h, threads, |p, v| {
            total -= p.prob(v as usize).ln();
            Ok(())
        })?;
    }
    Ok(total)
}

pub fn eval(rep: &Reporter, a: &EvalArgs) -> Result<()> {
    let weights = Weights::load(&a.model).with_context(|| format!("cannot load {}", a.model.display()))?;
    let data = open_data(&a.data, &a.data_args)?;
    let images = data.valid_set(a.limit);
    let c = weights.config();
    if c.channels != images.c || c.levels != data.levels() {
        bail!(
            "the model codes {} channel(s) at {} levels, the data has {} channel(s) at {} levels",
            c.channels,
            c.levels,
            images.c,
            data.levels()
        );
    }
    let dims = (images.n * images.h * images.w * images.c) as f64;
    let ln2 = std::f64::consts::LN_2;
    let device = torch::device(&a.device)?;
    let t = Instant::now();
    let model = Model::from_weights(&weights, device)?;
    let (_, torch_bpd) = torch::evaluate(&model, &images, 32);
    let torch_s = t.elapsed().as_secs_f64();
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    #[derive(Serialize)]
    struct PerImage {
        image: usize,
        model_bits_per_dim: f64,
        payload_bits_per_dim: f64,
        file_bits_per_dim: f64,
        /// The adaptive coding's payload, and what its expert alone would cost.
        adaptive_bits_per_dim: Option<f64>,
        expert_bits_per_dim: Option<f64>,
    }
    #[derive(Serialize)]
    struct Out {
        images: usize,
        libtorch_bits_per_dim: f64,
        engine_bits_per_dim: Option<f64>,
        difference: Option<f64>,
        actual_bits_per_dim: Option<f64>,
        adaptive_bits_per_dim: Option<f64>,
        libtorch_seconds: f64,
        engine_seconds: Option<f64>,
        per_image: Vec<PerImage>,
    }
    let mut out = Out {
        images: images.n,
        libtorch_bits_per_dim: torch_bpd,
        engine_bits_per_dim: None,
        difference: None,
        actual_bits_per_dim: None,
        adaptive_bits_per_dim: None,
        libtorch_seconds: torch_s,
        engine_seconds: None,
        per_image: Vec::new(),
    };
    match Engine::new(weights.clone()) {
        Ok(engine) => {
            let t = Instant::now();
            let per = (images.h * images.w * images.c) as f64;
            let mut nats = 0.0;
            let (mut payload, mut adaptive) = (0u64, 0u64);
            for i in 0..images.n {
                let one = Images {
                    n: 1,
                    pixels: images.image(i).to_vec(),
                    ..images.clone()
                };
                let n_i = engine_nats(&engine, &one, threads)?;
                let img = Image::new(images.w as u32, images.h as u32, images.c as u8, one.pixels)?;
                let enc = encode(
                    &img,
                    &engine,
                    &EncodeOptions {
                        threads,
                        mode: pixelrnn_codec::ModeChoice::Model,
                        ..Default::default()
                    },
                )?;
                // The plain model stream (the adaptive one is coded beside it).
                let plain = enc.candidates.0.unwrap_or(enc.header.payload_len);
                nats += n_i;
                payload += plain;
                adaptive += enc.adapt.map_or(plain, |a| a.1);
                out.per_image.push(PerImage {
                    image: i,
                    model_bits_per_dim: n_i / per / ln2,
                    payload_bits_per_dim: plain as f64 * 8.0 / per,
                    file_bits_per_dim: (enc.bytes.len() as u64 - enc.header.payload_len + plain) as f64 * 8.0 / per,
                    adaptive_bits_per_dim: enc.adapt.map(|a| a.1 as f64 * 8.0 / per),
                    expert_bits_per_dim: enc.adapt.map(|a| a.0.expert_bits() / per),
                });
            }
            out.engine_seconds = Some(t.elapsed().as_secs_f64());
            let bpd = nats / dims / ln2;
            out.engine_bits_per_dim = Some(bpd);
            out.difference = Some(bpd - torch_bpd);
            out.actual_bits_per_dim = Some(payload as f64 * 8.0 / dims);
            out.adaptive_bits_per_dim = Some(adaptive as f64 * 8.0 / dims);
        }
        Err(e) => rep.detail(&format!("engine: {e}")),
    }
    if !rep.json() && !out.per_image.is_empty() {
        println!(
            "| image | model NLL bits/dim | payload bits/dim | file bits/dim | adaptive payload | expert alone |\n|---:|---:|---:|---:|---:|---:|"
        );
        let f = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.4}"));
        for p in &out.per_image {
            println!(
                "| {} | {:.4} | {:.4} | {:.4} | {} | {} |",
                p.image,
                p.model_bits_per_dim,
                p.payload_bits_per_dim,
                p.file_bits_per_dim,
                f(p.adaptive_bits_per_dim),
                f(p.expert_bits_per_dim)
            );
        }
        if let (Some(m), Some(a)) = (out.engine_bits_per_dim, out.actual_bits_per_dim) {
            println!("| total | {m:.4} | {a:.4} | | {} | |", f(out.adaptive_bits_per_dim));
        }
    }
    let fmt = |v: Option<f64>| {
        v.map_or("n/a (engine lacks this architecture)".to_string(), |v| {
            format!("{v:.5}")
        })
    };
    rep.result(
        &out,
        &format!(
            "{} images: libtorch {:.5} bits/dim, engine {}, difference {}, actual payload {} bits/dim",
            out.images,
            out.libtorch_bits_per_dim,
            fmt(out.engine_bits_per_dim),
            out.difference.map_or("n/a".into(), |d| format!("{d:+.2e}")),
            fmt(out.actual_bits_per_dim)
        ),
    );
    if let Some(d) = out.difference {
        if d.abs() > 1e-3 {
            bail!("libtorch and engine disagree by {d:.2e} bits/dim (more than 1e-3)");
        }
    }
    Ok(())
}

//! `pixelrnn bench`: our size and speed next to PNG (image crate `Best` and oxipng's maximum
//! preset), WebP lossless and JPEG XL lossless (when `cwebp`/`cjxl` are on PATH), with the
//! model's NLL against the real code length. Markdown table, `--json`, and an SVG chart.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use pixelrnn_codec::{decode, encode, DecodeOptions, EncodeOptions, Image, Limits, ModeChoice};
use serde::Serialize;

use crate::files;
use crate::models;
use crate::report::Reporter;

mod table;

use table::{chart, markdown, totals};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Image files or folders of images.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Weight file instead of the built-in default.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Convert every image to grey (luminance) first.
    #[arg(long)]
    pub grey: bool,
    /// Worker threads for our encoder.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write the bits/dim chart here (SVG).
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Skip cwebp and cjxl even when they are on PATH.
    #[arg(long)]
    pub no_external: bool,
    /// auto (the smallest of the model's, the classical and the context coding, the model's only
    /// when at least 1 % smaller, as `compress` does), model, classical, or context.
    #[arg(long, default_value = "auto", value_parser = ["auto", "model", "classical", "context"])]
    pub mode: String,
}

#[derive(Serialize, Default, Clone)]
pub struct Row {
    pub image: String,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub subpixels: u64,
    pub prnn_bytes: u64,
    pub model_bits: f64,
    pub png_bytes: u64,
    pub webp_bytes: Option<u64>,
    pub jxl_bytes: Option<u64>,
    pub encode_s: f64,
    pub decode_s: f64,
    pub verified: bool,
    /// The coding the encoder kept: "model", "classical" or "context".
    pub mode: &'static str,
    /// Payload bytes of the model's coding, the classical one and the context one.
    pub model_payload_bytes: Option<u64>,
    pub classical_payload_bytes: Option<u64>,
    pub context_payload_bytes: Option<u64>,
    /// The adaptive coding's payload bytes and what the expert alone would have cost (bits).
    pub adaptive_payload_bytes: Option<u64>,
    pub expert_bits: Option<f64>,
}

impl Row {
    fn bpd(&self, bytes: u64) -> f64 {
        bytes as f64 * 8.0 / self.subpixels as f64
    }
}

fn image_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot list {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| image::ImageFormat::from_path(f).is_ok())
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        bail!("no images found in {:?}", inputs);
    }
    Ok(out)
}

/// Grey by the image crate's luminance, as `train --grey` converts its data.
fn to_grey(img: Image) -> Result<Image> {
    if img.channels == 1 {
        return Ok(img);
    }
    let grey = files::to_dynamic(&img).into_luma8();
    Ok(Image::new(img.width, img.height, 1, grey.into_raw())?)
}

fn png_best(img: &Image) -> Result<Vec<u8>> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut out = Vec::new();
    files::to_dynamic(img).write_with_encoder(PngEncoder::new_with_quality(
        &mut out,
        CompressionType::Best,
        FilterType::Adaptive,
    ))?;
    Ok(out)
}

fn on_path(tool: &str) -> bool {
    Command::new(tool).arg("-h").output().is_ok()
}

fn external(tool: &str, args: &[&str], input: &Path, out: &Path) -> Result<u64> {
    let status = Command::new(tool)
        .args(args.iter().map(|a| match *a {
            "IN" => input.as_os_str(),
            "OUT" => out.as_os_str(),
            a => std::ffi::OsStr::new(a),
        }))
        .output()
        .with_context(|| format!("running {tool}"))?;
    if !status.status.success() {
        bail!("{tool} failed: {}", String::from_utf8_lossy(&status.stderr));
    }
    Ok(std::fs::metadata(out)?.len())
}

pub fn bench(rep: &Reporter, a: &BenchArgs) -> Result<()> {
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let (webp, jxl) = (!a.no_external && on_path("cwebp"), !a.no_external && on_path("cjxl"));
    let tmp = tempfile::tempdir()?;
    let mut rows = Vec::new();
    let paths = image_files(&a.inputs)?;
    let mut sizes = Vec::with_capacity(paths.len());
    for p in &paths {
        // Sizes from the headers only, for the progress bar's ETA.
        let (w, h) = image::image_dimensions(p).unwrap_or((0, 0));
        sizes.push(w as u64 * h as u64);
    }
    let all: u64 = sizes.iter().sum();
    let bar = rep.progress(all.max(1 << 17), "bench");
    bar.set_length(all);
    let mut done_before = 0u64;
    let n_images = paths.len();
    for (i, path) in paths.into_iter().enumerate() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = files::read_input(&path.to_string_lossy())?;
        let (mut img, _, _) = files::decode_image(&bytes, &name, Limits::default().max_pixels)?;
        if a.grey {
            img = to_grey(img)?;
        }
        let model = models::for_encoding(a.model.as_deref(), img.coded_channels(true) as usize, true)?;
        let t = Instant::now();
        let coded = img.coded_channels(true) as u64;
        let progress = |done: u64, _: u64| bar.set_position(done_before + done / coded.max(1));
        let enc = encode(
            &img,
            model.coder(),
            &EncodeOptions {
                threads,
                progress: Some(&progress),
                mode: match a.mode.as_str() {
                    "model" => ModeChoice::Model,
                    "classical" => ModeChoice::Classical,
                    "context" => ModeChoice::Context,
                    _ => ModeChoice::Auto,
                },
                ..Default::default()
            },
        )?;
        let encode_s = t.elapsed().as_secs_f64();
        // The automatic choice skips the classical coding's last step where it cannot be kept,
        // and stops the context coding where it is far behind the model's; the table shows
        // their sizes all the same (not counted in the encoding time).
        let alone = |size: Option<u64>, mode| -> Result<Option<u64>> {
            if size.is_some() || a.mode != "auto" {
                return Ok(size);
            }
            let opts = EncodeOptions {
                threads,
                mode,
                ..Default::default()
            };
            Ok(Some(encode(&img, model.coder(), &opts)?.header.payload_len))
        };
        let classical_bytes = alone(enc.candidates.1, ModeChoice::Classical)?;
        let context_bytes = alone(enc.candidates.2, ModeChoice::Context)?;
        let t = Instant::now();
        let back = decode(
            &enc.bytes,
            model.coder(),
            &DecodeOptions {
                threads,
                ..Default::default()
            },
        )?;
        let decode_s = t.elapsed().as_secs_f64();
        let png = png_best(&img)?;
        let oxi = oxipng::optimize_from_memory(&png, &oxipng::Options::max_compression())
            .map_err(|e| anyhow::anyhow!("oxipng: {e}"))?;
        let png_path = tmp.path().join("in.png");
        std::fs::write(&png_path, &png)?;
        let mut row = Row {
            image: name.clone(),
            width: img.width,
            height: img.height,
            channels: img.channels,
            subpixels: img.width as u64 * img.height as u64 * img.channels as u64,
            prnn_bytes: enc.bytes.len() as u64,
            model_bits: enc.model_bits,
            png_bytes: png.len().min(oxi.len()) as u64,
            encode_s,
            decode_s,
            verified: back == img,
            mode: crate::report::mode_name(enc.header.mode),
            model_payload_bytes: enc.candidates.0,
            classical_payload_bytes: classical_bytes,
            context_payload_bytes: context_bytes,
            adaptive_payload_bytes: enc.adapt.map(|a| a.1),
            expert_bits: enc.adapt.map(|a| a.0.expert_bits()),
            ..Default::default()
        };
        if webp {
            let out = tmp.path().join("out.webp");
            row.webp_bytes = Some(external(
                "cwebp",
                &["-quiet", "-lossless", "-z", "9", "-exact", "IN", "-o", "OUT"],
                &png_path,
                &out,
            )?);
        }
        if jxl {
            let out = tmp.path().join("out.jxl");
            row.jxl_bytes = Some(external(
                "cjxl",
                &["IN", "OUT", "-d", "0", "-e", "9", "--quiet"],
                &png_path,
                &out,
            )?);
        }
        if !row.verified {
            bail!("{name}: the decoded image differs from the original");
        }
        done_before += sizes[i];
        bar.set_position(done_before);
        bar.suspend(|| {
            rep.line(&format!(
                "[{}/{n_images}] {name}: {:.4} bits/dim ({} coding; PNG {:.4}), {:.1} s encode, {:.1} s decode",
                i + 1,
                row.bpd(row.prnn_bytes),
                row.mode,
                row.bpd(row.png_bytes),
                encode_s,
                decode_s
            ))
        });
        rows.push(row);
    }
    bar.finish_and_clear();
    let total = totals(&rows);
    if let Some(svg) = &a.svg {
        chart(svg, &rows, &total)?;
    }
    #[derive(Serialize)]
    struct Out<'a> {
        images: &'a [Row],
        total: &'a Row,
    }
    if rep.json() {
        println!(
            "{}",
            serde_json::to_string(&Out {
                images: &rows,
                total: &total
            })?
        );
    } else {
        print!("{}", markdown(&rows, &total));
    }
    Ok(())
}

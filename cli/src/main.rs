//! `pixelrnn`: lossless image compression with PixelRNN-family models. Parses arguments, calls
//! the libraries, reports.

mod bench;
mod files;
mod frames;
mod metadata;
mod models;
mod report;
mod sample;
mod train;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use image::ImageFormat;
use pixelrnn_codec::{decode, encode, DecodeOptions, EncodeOptions, Header, Limits, ModeChoice};

use metadata::NotKept;
use report::{Reporter, Stats};

#[derive(Parser)]
#[command(
    name = "pixelrnn",
    version,
    about = "Lossless image compression with PixelRNN models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print nothing but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Print more detail (model id, threads, timings).
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Print results as JSON lines (on stdout, or on stderr when stdout carries data).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Compress images (PNG, BMP, TIFF, PNM, TGA, QOI, WebP, JPEG) to .prnn files.
    Compress(CompressArgs),
    /// Decompress .prnn files to images (PNG unless the output's extension says otherwise).
    Decompress(DecompressArgs),
    /// Train a model with libtorch (needs a build with --features torch).
    Train(Box<train::TrainArgs>),
    /// Evaluate a model's NLL with libtorch and the engine, and its real code length.
    Eval(train::EvalArgs),
    /// Compare pixelrnn with PNG, WebP and JPEG XL on images (sizes, speed, NLL vs code length).
    Bench(bench::BenchArgs),
    /// Draw images from a model (engine only, no libtorch).
    Sample(sample::SampleArgs),
    /// List the devices `train` and `eval` can use.
    Devices,
    /// Show the header of .prnn files.
    Info {
        /// .prnn files ('-' for stdin).
        #[arg(required = true)]
        files: Vec<String>,
    },
}

#[derive(Args)]
struct Common {
    /// Output file ('-' for stdout); only with a single input.
    #[arg(short, long)]
    output: Option<String>,
    /// Overwrite existing output files.
    #[arg(short, long)]
    force: bool,
    /// Weight file (.safetensors) to use instead of the built-in default model.
    #[arg(long)]
    model: Option<std::path::PathBuf>,
    /// Worker threads (default: all cores). Output never depends on it.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Refuse images with more pixels than this.
    #[arg(long, default_value_t = Limits::default().max_pixels)]
    max_pixels: u64,
}

#[derive(Args)]
struct CompressArgs {
    /// Images to compress ('-' for stdin).
    #[arg(required = true)]
    inputs: Vec<String>,
    #[command(flatten)]
    common: Common,
    /// Code an all-opaque alpha channel instead of storing it as a flag.
    #[arg(long)]
    keep_alpha: bool,
    /// Decode the result and compare it with the input before writing anything.
    #[arg(long)]
    verify: bool,
    /// auto (the smallest of the model's coding, the classical one and the context one; the
    /// model's only when at least 1 % smaller, the others decode far faster), model,
    /// classical (PNG row filters and Brotli: fast, needs no model to decode), or context (a
    /// context model of the neighbouring colours, format version 6: for screenshots, diagrams
    /// and pixel art; needs no model to decode).
    #[arg(long, default_value = "auto", value_parser = ["auto", "model", "classical", "context"])]
    mode: String,
    /// Do not try the adaptive coding (the model mixed with experts that learn from the image
    /// as it is coded; kept only when smaller).
    #[arg(long)]
    no_adapt: bool,
    /// Format version to write: 12; 11 for readers older than this pixelrnn (no ICC profile or
    /// EXIF data kept: a warning names what changes how the image is shown), 10 for older ones (the experts'
    /// bias learnt per texture alone: photos code up to 0.7 % larger), 9 for older ones (no
    /// binary stage: photos code 0.1–0.9 % larger, screenshots and drawings in model coding up
    /// to 11 %), 8 for older ones (no context stage per pixel phase: photos that went through JPEG's
    /// chroma subsampling code up to 3 % larger), 7 for older ones (the model coding's
    /// rows in raster order: decoding 1.3–1.6× slower), 6 for older ones (the model coding
    /// without the context stage: larger files of images that mix photographs with drawings or
    /// text), 5 for older ones (no context coding: larger screenshots and diagrams), 4 for older ones (no geometric stage: slightly larger
    /// files), 3 for older ones (the adaptive experts before the blended
    /// prediction), 2 for older still (the arithmetic before the fused kernels, slower), 1 for
    /// the oldest (model coding only).
    #[arg(long, default_value_t = pixelrnn_codec::VERSION, value_parser = clap::value_parser!(u8).range(1..=12))]
    format_version: u8,
    /// Rows spread over this many substreams (1–64, at most one per row; format version 3 and
    /// later), each decoding on up to two threads. Default: one per 512 rows, rounded up to a
    /// power of two, at most 4, or one where that makes the file at least 1 % smaller
    /// (screenshots, clip art; version 7: in raster order). More decode faster on more cores
    /// and cost a little size (0.5 % for two instead of one on photos). Format version 8 codes
    /// each substream's rows 8 / N at a time in step (lanes; one for N > 4).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=64))]
    substreams: Option<u8>,
}

#[derive(Args)]
struct DecompressArgs {
    /// .prnn files to decompress ('-' for stdin).
    #[arg(required = true)]
    inputs: Vec<String>,
    #[command(flatten)]
    common: Common,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rep = Reporter::new(cli.quiet, cli.verbose, cli.json);
    let result = match &cli.command {
        Command::Compress(a) => for_each(&rep, &a.inputs, &a.common, |i, o| compress(&rep, a, i, o)),
        Command::Decompress(a) => for_each(&rep, &a.inputs, &a.common, |i, o| decompress(&rep, a, i, o)),
        Command::Train(a) => train::train(&rep, a),
        Command::Eval(a) => train::eval(&rep, a),
        Command::Devices => train::devices(),
        Command::Bench(a) => bench::bench(&rep, a),
        Command::Sample(a) => sample::sample(&rep, a),
        Command::Info { files } => files.iter().try_for_each(|f| info(&rep, f)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            rep.error(&e);
            ExitCode::FAILURE
        }
    }
}

/// Runs `job` on every input, keeping going past failures; fails if any failed.
fn for_each(
    rep: &Reporter,
    inputs: &[String],
    common: &Common,
    job: impl Fn(&str, Option<&str>) -> Result<()>,
) -> Result<()> {
    if inputs.len() > 1 && common.output.is_some() {
        bail!("-o needs a single input ({} given)", inputs.len());
    }
    if inputs.iter().filter(|i| *i == "-").count() > 1 {
        bail!("stdin ('-') can be read only once");
    }
    let mut failed = 0;
    for input in inputs {
        if let Err(e) = job(input, common.output.as_deref()) {
            if inputs.len() == 1 {
                return Err(e);
            }
            rep.error(&e.context(format!("{input}: skipped")));
            failed += 1;
        }
    }
    if failed > 0 {
        bail!("{failed} of {} inputs failed", inputs.len());
    }
    Ok(())
}

fn threads(c: &Common) -> usize {
    files::threads(c.threads.map(usize::from))
}

/// `-o` if given, stdout for stdin, else `default(input)`.
fn output_for(input: &str, output: Option<&str>, default: fn(&str) -> String) -> String {
    match output {
        Some(o) => o.to_string(),
        None if input == "-" => "-".into(),
        None => default(input),
    }
}

fn compress(rep: &Reporter, a: &CompressArgs, input: &str, output: Option<&str>) -> Result<()> {
    let c = &a.common;
    let out = output_for(input, output, files::compressed_name);
    files::check_output(input, &out, c.force)?;
    let start = Instant::now();
    let bytes = files::read_input(input)?;
    let (image, format, carried) = files::decode_image(&bytes, input, c.max_pixels)?;
    // Version 12 keeps the metadata; before it, what changes how the image is shown is named.
    let (entries, not_kept) = if a.format_version >= 12 {
        (carried.entries(), NotKept::default())
    } else {
        (Vec::new(), carried.would_show())
    };
    let coded = image.coded_channels(!a.keep_alpha);
    // The alpha split's built-in index is new in version 7.
    let split = a.format_version >= 7;
    let model = models::for_encoding(c.model.as_deref(), coded as usize, split)?;
    rep.detail(&format!(
        "{input}: {}×{}×{} ({} coded), model {}, {} thread(s)",
        image.width,
        image.height,
        image.channels,
        coded,
        models::describe_model(&model),
        threads(c)
    ));
    let total = image.width as u64 * image.height as u64 * coded as u64;
    let bar = rep.progress(total, "compressing");
    let progress = |done: u64, _: u64| bar.set_position(done);
    let opts = EncodeOptions {
        threads: threads(c),
        drop_opaque_alpha: !a.keep_alpha,
        progress: Some(&progress),
        version: a.format_version,
        adapt: !a.no_adapt,
        substreams: a.substreams.map(usize::from),
        metadata: &entries,
        mode: match a.mode.as_str() {
            "model" => ModeChoice::Model,
            "classical" => ModeChoice::Classical,
            "context" => ModeChoice::Context,
            _ => ModeChoice::Auto,
        },
    };
    let enc = encode(&image, model.coder(), &opts).with_context(|| format!("{input}: compression failed"))?;
    bar.finish_and_clear();
    if a.verify {
        let bar = rep.progress(total, "verifying");
        let progress = |done: u64, _: u64| bar.set_position(done);
        let opts = DecodeOptions {
            limits: Limits {
                max_pixels: u64::MAX,
                max_payload: u64::MAX,
            },
            progress: Some(&progress),
            threads: threads(c),
        };
        let back = decode(&enc.bytes, model.coder(), &opts).with_context(|| format!("{input}: verification failed"))?;
        bar.finish_and_clear();
        if back != image {
            bail!("{input}: verification failed: the decoded image differs from the input; nothing written");
        }
        rep.detail(&format!("{input}: verified"));
    }
    files::write_atomic(&out, &enc.bytes, c.force)?;
    rep.stats(
        &Stats::new("compress", input, &out, &enc.header, &enc.bytes, start.elapsed())
            .with_model_bits(enc.model_bits)
            .with_input_bytes(bytes.len() as u64)
            .with_not_kept(not_kept.names()),
        out == "-",
    );
    let why = format!("(format version {} has no room for it; 12 keeps it)", a.format_version);
    let shown = named(&out, "the output");
    not_kept.warnings(shown, &why).iter().for_each(|w| rep.warn(w));
    if enc.bytes.len() > bytes.len() {
        let why = match format {
            ImageFormat::Jpeg => {
                "JPEG is lossy, and pixelrnn keeps its decoded pixels exactly: the JPEG is the smaller way to keep them"
            }
            _ => "the input is the smaller way to keep these pixels",
        };
        rep.warn(&format!(
            "{shown} ({} bytes) is larger than {} ({} bytes): {why}",
            enc.bytes.len(),
            named(input, "the input"),
            bytes.len()
        ));
    }
    Ok(())
}

/// How messages name `path`: `dash` for `-` (stdin or stdout).
fn named<'a>(path: &'a str, dash: &'a str) -> &'a str {
    if path == "-" {
        dash
    } else {
        path
    }
}

fn decompress(rep: &Reporter, a: &DecompressArgs, input: &str, output: Option<&str>) -> Result<()> {
    let c = &a.common;
    let out = output_for(input, output, files::decompressed_name);
    let fmt = files::output_format(&out)?;
    files::check_output(input, &out, c.force)?;
    let start = Instant::now();
    let bytes = files::read_input(input)?;
    let limits = Limits {
        max_pixels: c.max_pixels,
        ..Limits::default()
    };
    let header = Header::parse(&bytes, &limits).with_context(|| format!("{input}: cannot decompress"))?;
    let model = models::for_decoding(c.model.as_deref(), &header)?;
    rep.detail(&format!(
        "{input}: model {}, {}×{}",
        models::describe_model(&model),
        header.width,
        header.height
    ));
    let bar = rep.progress(header.coded_subpixels(), "decompressing");
    let progress = |done: u64, _: u64| bar.set_position(done);
    let opts = DecodeOptions {
        limits,
        progress: Some(&progress),
        threads: threads(c),
    };
    let image = decode(&bytes, model.coder(), &opts).with_context(|| format!("{input}: cannot decompress"))?;
    bar.finish_and_clear();
    let (encoded, left) = files::encode_image(&image, fmt, &out, &header.metadata)?;
    files::write_atomic(&out, &encoded, c.force)?;
    let not_kept = NotKept::of_entries(&left);
    rep.stats(
        &Stats::new("decompress", input, &out, &header, &bytes, start.elapsed()).with_not_kept(not_kept.names()),
        out == "-",
    );
    let kind = fmt.extensions_str().first().map_or("such", |e| e).to_uppercase();
    let why = format!("(a {kind} file has no room for it; .png, .webp and .tiff have)");
    not_kept
        .warnings(named(&out, "the output"), &why)
        .iter()
        .for_each(|w| rep.warn(w));
    Ok(())
}

fn info(rep: &Reporter, file: &str) -> Result<()> {
    let bytes = files::read_input(file)?;
    let limits = Limits {
        max_pixels: u64::MAX,
        max_payload: u64::MAX,
    };
    let h = Header::parse(&bytes, &limits).with_context(|| format!("{file}: not a valid .prnn file"))?;
    let spread = h
        .spread(&bytes)
        .with_context(|| format!("{file}: not a valid .prnn file"))?;
    rep.info(file, &h, bytes.len(), models::builtin_name(&h), spread);
    Ok(())
}

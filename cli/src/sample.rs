//! `pixelrnn sample`: images drawn from a model by the engine (no libtorch), seeded, with a
//! temperature, laid out in a grid.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use pixelrnn_codec::Image;
use pixelrnn_model::rng::SplitMix64;

use crate::files;
use crate::models;
use crate::report::Reporter;

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// Weight file (default: the built-in model for --channels).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Channels of the built-in model to sample from when no --model is given.
    #[arg(long, default_value_t = 3)]
    pub channels: usize,
    /// Number of samples.
    #[arg(short, long, default_value_t = 16)]
    pub n: usize,
    /// Size of each sample, WxH.
    #[arg(long, default_value = "32x32")]
    pub size: String,
    /// Output image (PNG unless the extension says otherwise; '-' for stdout).
    #[arg(short, long)]
    pub output: String,
    #[arg(short, long)]
    pub force: bool,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sharpen (< 1) or flatten (> 1) every distribution: p^(1/T), renormalised.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
}

pub fn sample(rep: &Reporter, a: &SampleArgs) -> Result<()> {
    let (w, h) = match a.size.split_once(['x', 'X']) {
        Some((w, h)) => (w.parse::<usize>()?, h.parse::<usize>()?),
        None => bail!("--size must look like 32x32"),
    };
    if w == 0 || h == 0 || w * h > 1 << 20 || a.n == 0 || a.n > 1024 {
        bail!("--size must be between 1x1 and 1 megapixel, -n between 1 and 1024");
    }
    if !(a.temperature > 0.0 && a.temperature.is_finite()) {
        bail!("--temperature must be positive");
    }
    let fmt = files::output_format(&a.output)?;
    files::check_output("-", &a.output, a.force)?;
    let engine = match &a.model {
        Some(p) => pixelrnn_model::Engine::load(p)?,
        None => pixelrnn_model::default_engine(a.channels)?,
    };
    let (c, levels) = (engine.channels(), engine.levels());
    let cols = (a.n as f64).sqrt().ceil() as usize;
    let rows = a.n.div_ceil(cols);
    let (gw, gh) = (cols * w, rows * h);
    let mut grid = vec![0u8; gw * gh * c];
    let bar = rep.progress((a.n * w * h * c) as u64, "sampling");
    let mut rng = SplitMix64::new(a.seed);
    let mut probs = vec![0.0f32; levels];
    let mut q = vec![0.0f64; levels];
    for k in 0..a.n {
        let (ox, oy) = ((k % cols) * w, (k / cols) * h);
        let mut s = engine.session(w, h);
        let mut coded = Vec::with_capacity(w * h * c);
        for _ in 0..w * h * c {
            s.distribution(&mut probs);
            let mut total = 0.0;
            for (qv, &p) in q.iter_mut().zip(&probs) {
                *qv = (p as f64).powf(1.0 / a.temperature);
                total += *qv;
            }
            let mut u = rng.next_f32() as f64 * total;
            let mut v = levels - 1;
            for (j, &qv) in q.iter().enumerate() {
                if u < qv {
                    v = j;
                    break;
                }
                u -= qv;
            }
            s.push(v as u8);
            coded.push(v as u8);
            bar.inc(1);
        }
        // Sub-pixels come in coding order (the small image first for multi-scale models).
        for (i, v) in engine.raster(coded, w, h).into_iter().enumerate() {
            let (y, x, ch) = (i / (w * c), (i / c) % w, i % c);
            grid[((oy + y) * gw + ox + x) * c + ch] = (v as usize * 255 / (levels - 1)) as u8;
        }
    }
    bar.finish_and_clear();
    let img = Image::new(gw as u32, gh as u32, c as u8, grid)?;
    files::write_atomic(&a.output, &files::encode_image(&img, fmt, &a.output, &[])?.0, a.force)?;
    rep.line(&format!(
        "{} samples of {w}×{h} from {} → {}",
        a.n,
        models::describe(&engine),
        a.output
    ));
    Ok(())
}

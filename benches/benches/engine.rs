//! Engine speed in sub-pixels per second, batch mode (encode) and incremental mode (decode):
//! the built-in default model on 32×32 RGB, and every architecture at h=32, 4 layers, out 64 on
//! 64×64 RGB (and a multi-scale PixelCNN of two such networks, k = 2, the gated PixelCNN, and the
//! PixelCNN with the 10-component logistic-mixture head). A reference f32 matrix multiply (matrixmultiply's sgemm, 256³) runs in the same
//! process, so the engine's GFLOP/s can be read against this machine's rate.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pixelrnn_benches::test_image;
use pixelrnn_model::{default_engine, Arch, Arith, Config, Engine, Isa, ModelError, MultiScale};

fn run_batch(e: &Engine, px: &[u8], w: usize, h: usize, threads: usize) -> f32 {
    run_batch_with(Arith::fma(), e, px, w, h, threads)
}

fn run_batch_with(arith: Arith, e: &Engine, px: &[u8], w: usize, h: usize, threads: usize) -> f32 {
    let mut acc = 0.0f32;
    e.batch_with::<ModelError>(arith, px, w, h, threads, |p, v| {
        acc += p.prob(v as usize) as f32;
        Ok(())
    })
    .unwrap();
    acc
}

/// Decoding's work: each distribution, and the probability of the value (the mixture head's
/// lazy CDF at two levels; a decoder's binary search evaluates about eight).
fn run_incremental(e: &Engine, px: &[u8], w: usize, h: usize) -> f32 {
    run_incremental_with(Arith::fma(), e, px, w, h)
}

fn run_incremental_with(arith: Arith, e: &Engine, px: &[u8], w: usize, h: usize) -> f32 {
    let mut s = e.session_with(arith, w, h);
    let mut acc = 0.0f32;
    for &v in e.coding_order(px, w, h).iter() {
        acc += s.next_dist().prob(v as usize) as f32;
        s.push(v);
    }
    acc
}

fn default_model(c: &mut Criterion) {
    let e = default_engine(3).unwrap();
    let (w, h) = (32, 32);
    let px = test_image(w, h, 3);
    let mut g = c.benchmark_group("engine_default_32x32_rgb");
    g.throughput(Throughput::Elements((w * h * 3) as u64));
    g.sample_size(10);
    for threads in [1, 2] {
        g.bench_function(format!("batch_{threads}t"), |b| {
            b.iter(|| black_box(run_batch(&e, &px, w, h, threads)))
        });
    }
    g.bench_function("incremental", |b| b.iter(|| black_box(run_incremental(&e, &px, w, h))));
    g.finish();
}

fn architectures(c: &mut Criterion) {
    let (w, h) = (64, 64);
    let px = test_image(w, h, 3);
    let mut g = c.benchmark_group("engine_h32x4_64x64_rgb");
    g.throughput(Throughput::Elements((w * h * 3) as u64));
    g.sample_size(10);
    let single = |arch| Config::pixel_cnn(3, 32, 4, 64).with_arch(arch);
    // Multi-scale: the same PixelCNN conditioned on a same-sized PixelCNN over every 2nd pixel.
    let multi = Config {
        multiscale: Some(MultiScale {
            factor: 2,
            features: 16,
            small_arch: Arch::PixelCnn,
            small_hidden: 32,
            small_layers: 4,
            small_out_hidden: 64,
        }),
        ..single(Arch::PixelCnn)
    };
    let models = [
        ("pixel_cnn", single(Arch::PixelCnn)),
        ("row_lstm", single(Arch::RowLstm)),
        ("diagonal_bilstm", single(Arch::DiagonalBilstm)),
        ("multiscale_pixel_cnn", multi),
        ("gated_pixel_cnn", single(Arch::GatedPixelCnn)),
        ("pixel_cnn_mixture10", single(Arch::PixelCnn).with_mixture(10)),
    ];
    for (name, cfg) in models {
        let e = Engine::random(&cfg, 1).unwrap();
        eprintln!("{name}: {} multiply-adds per pixel", e.macs_per_pixel());
        for threads in [1, 2] {
            g.bench_with_input(BenchmarkId::new(format!("{name}_batch"), threads), &threads, |b, &t| {
                b.iter(|| black_box(run_batch(&e, &px, w, h, t)))
            });
        }
        g.bench_function(BenchmarkId::new(format!("{name}_incremental"), 1), |b| {
            b.iter(|| black_box(run_incremental(&e, &px, w, h)))
        });
    }
    g.finish();
}

/// The default RGB model's multiply-add rate (criterion's elements/s = MAC/s, the unit of
/// `reference_sgemm_256`) in both arithmetics and on every kernel path of this CPU, one thread:
/// batch mode (encoding) and incremental mode (decoding's network, softmax included).
fn kernel_rates(c: &mut Criterion) {
    let e = default_engine(3).unwrap();
    let (w, h) = (48, 48);
    let px = test_image(w, h, 3);
    let mut g = c.benchmark_group("mac_rate_default_rgb_48x48");
    g.throughput(Throughput::Elements((e.macs_per_pixel() * w * h) as u64));
    g.sample_size(10);
    let ariths = std::iter::once(Arith::Legacy).chain(Isa::available().into_iter().map(Arith::Fma));
    for arith in ariths {
        let name = match arith {
            Arith::Legacy => "legacy".to_string(),
            Arith::Fma(isa) => format!("fma_{}", isa.name()),
        };
        if arith == Arith::Fma(Isa::Portable) {
            continue; // the software fma: correct everywhere, not a speed path
        }
        g.bench_function(format!("{name}_batch_1t"), |b| {
            b.iter(|| black_box(run_batch_with(arith, &e, &px, w, h, 1)))
        });
        g.bench_function(format!("{name}_incremental"), |b| {
            b.iter(|| black_box(run_incremental_with(arith, &e, &px, w, h)))
        });
    }
    g.finish();
}

fn sgemm(c: &mut Criterion) {
    let n = 256;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 17) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 13) as f32 * 0.1).collect();
    let mut out = vec![0.0f32; n * n];
    let mut g = c.benchmark_group("reference_sgemm_256");
    // One "element" = one multiply-add, so the reported rate is MAC/s (×2 for FLOP/s).
    g.throughput(Throughput::Elements((n * n * n) as u64));
    g.bench_function("matrixmultiply_1t", |bch| {
        bch.iter(|| unsafe {
            matrixmultiply::sgemm(
                n,
                n,
                n,
                1.0,
                a.as_ptr(),
                n as isize,
                1,
                b.as_ptr(),
                n as isize,
                1,
                0.0,
                out.as_mut_ptr(),
                n as isize,
                1,
            );
            black_box(out[0])
        })
    });
    g.finish();
}

criterion_group!(benches, default_model, architectures, kernel_rates, sgemm);
criterion_main!(benches);

//! Coder speed in sub-pixels per second: quantisation plus range encoding and decoding of
//! precomputed 256-level distributions (the engine excluded).

use std::hint::black_box;

use constriction::stream::queue::{DefaultRangeDecoder, DefaultRangeEncoder};
use constriction::stream::{Decode, Encode};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pixelrnn_codec::{quantize, Coded, Table};
use pixelrnn_model::rng::SplitMix64;

fn coder(c: &mut Criterion) {
    let n = 4096;
    let mut rng = SplitMix64::new(3);
    // Peaked distributions like a trained model's, with the coded value drawn near the peak.
    let dists: Vec<Vec<f32>> = (0..n)
        .map(|_| {
            let centre = rng.below(256) as f32;
            let raw: Vec<f32> = (0..256).map(|v| 1.0 / (1.0 + (v as f32 - centre).powi(2))).collect();
            let s: f32 = raw.iter().sum();
            raw.iter().map(|x| x / s).collect()
        })
        .collect();
    let symbols: Vec<usize> = dists
        .iter()
        .map(|d| d.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0)
        .collect();
    let mut g = c.benchmark_group("coder");
    g.throughput(Throughput::Elements(n as u64));
    let mut cdf = Vec::new();
    g.bench_function("quantize+encode", |b| {
        b.iter(|| {
            let mut enc = DefaultRangeEncoder::new();
            for (d, &s) in dists.iter().zip(&symbols) {
                quantize(d, &mut cdf);
                enc.encode_symbol(s, Coded(Table(&cdf))).unwrap();
            }
            black_box(enc.into_compressed().unwrap())
        })
    });
    let mut enc = DefaultRangeEncoder::new();
    for (d, &s) in dists.iter().zip(&symbols) {
        quantize(d, &mut cdf);
        enc.encode_symbol(s, Coded(Table(&cdf))).unwrap();
    }
    let words = enc.into_compressed().unwrap();
    g.bench_function("quantize+decode", |b| {
        b.iter(|| {
            let mut dec = DefaultRangeDecoder::from_compressed(words.clone()).unwrap();
            let mut sum = 0;
            for d in &dists {
                quantize(d, &mut cdf);
                sum += dec.decode_symbol(Coded(Table(&cdf))).unwrap();
            }
            black_box(sum)
        })
    });
    g.finish();
}

criterion_group!(benches, coder);
criterion_main!(benches);

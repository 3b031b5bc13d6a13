//! Engine speed in sub-pixels per second: batch mode (encode) and incremental mode (decode), for
//! the built-in default model on a 32×32 RGB image.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pixelrnn_benches::test_image;
use pixelrnn_model::{default_engine, ModelError};

fn engine(c: &mut Criterion) {
    let e = default_engine(3).unwrap();
    let (w, h) = (32, 32);
    let px = test_image(w, h, 3);
    let mut g = c.benchmark_group("engine_default_32x32_rgb");
    g.throughput(Throughput::Elements((w * h * 3) as u64));
    g.sample_size(10);
    for threads in [1, 2] {
        g.bench_function(format!("batch_{threads}t"), |b| {
            b.iter(|| {
                let mut acc = 0.0f32;
                e.batch::<ModelError>(&px, w, h, threads, |p| {
                    acc += p[0];
                    Ok(())
                })
                .unwrap();
                black_box(acc)
            })
        });
    }
    g.bench_function("incremental", |b| {
        let mut probs = vec![0.0; e.levels()];
        b.iter(|| {
            let mut s = e.session(w, h);
            for &v in &px {
                s.distribution(&mut probs);
                s.push(v);
            }
            black_box(probs[0])
        })
    });
    g.finish();
    eprintln!("default model: {} multiply-adds per pixel", e.macs_per_pixel());
}

criterion_group!(benches, engine);
criterion_main!(benches);

//! Engine-wide tests: batch vs incremental bit-exactness, thread independence and causality.

use crate::config::{Arch, Config, MultiScale};
use crate::dist::Dist;
use crate::engine::Engine;
use crate::kernels::{Arith, Isa};
use crate::rng::SplitMix64;
use crate::ModelError;

pub(crate) fn random_image(w: usize, h: usize, c: usize, levels: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed);
    (0..w * h * c).map(|_| rng.below(levels as u64) as u8).collect()
}

/// What the coder sees of a distribution, as `levels` integers: the softmax's probabilities as
/// bits, the mixture's quantised CDF F(1..=levels).
pub(crate) fn fingerprint(d: Dist<'_>, out: &mut Vec<u32>) {
    match d {
        Dist::Probs(p) => out.extend(p.iter().map(|x| x.to_bits())),
        Dist::Mixture(m) => out.extend((1..=m.levels()).map(|v| m.cum(v))),
    }
}

/// All distributions from batch mode, as bits.
pub(crate) fn batch_bits(e: &Engine, px: &[u8], w: usize, h: usize, threads: usize) -> Vec<u32> {
    batch_bits_with(Arith::fma(), e, px, w, h, threads)
}

/// [`batch_bits`] in the given arithmetic.
pub(crate) fn batch_bits_with(arith: Arith, e: &Engine, px: &[u8], w: usize, h: usize, threads: usize) -> Vec<u32> {
    let mut out = Vec::new();
    e.batch_with::<ModelError>(arith, px, w, h, threads, |p, _| {
        fingerprint(p, &mut out);
        Ok(())
    })
    .unwrap();
    out
}

/// All distributions from incremental mode in the given arithmetic, as bits.
pub(crate) fn incremental_bits_with(arith: Arith, e: &Engine, px: &[u8], w: usize, h: usize) -> Vec<u32> {
    let mut s = e.session_with(arith, w, h);
    let mut out = Vec::new();
    for &v in e.coding_order(px, w, h).iter() {
        fingerprint(s.next_dist(), &mut out);
        s.push(v);
    }
    assert!(s.done());
    out
}

/// A multi-scale model whose conditional network is `full` and small network `small_arch`.
pub(crate) fn multi(full: Config, k: usize, small_arch: Arch) -> Config {
    Config {
        multiscale: Some(MultiScale {
            factor: k,
            features: 5,
            small_arch,
            small_hidden: 4,
            small_layers: 1,
            small_out_hidden: 6,
        }),
        ..full
    }
}

fn configs() -> Vec<Config> {
    vec![
        multi(
            Config {
                levels: 16,
                ..Config::pixel_cnn(3, 6, 2, 9)
            },
            2,
            Arch::RowLstm,
        ),
        multi(
            Config::pixel_cnn(1, 4, 1, 5).with_arch(Arch::DiagonalBilstm),
            3,
            Arch::PixelCnn,
        ),
        multi(
            Config {
                levels: 8,
                ..Config::pixel_cnn(2, 4, 2, 5).with_arch(Arch::RowLstm)
            },
            2,
            Arch::DiagonalBilstm,
        ),
        Config::pixel_cnn(3, 6, 2, 9),
        Config {
            levels: 16,
            ..Config::pixel_cnn(1, 4, 3, 5)
        },
        Config {
            residual: false,
            skip: false,
            ..Config::pixel_cnn(4, 8, 1, 7)
        },
        Config {
            levels: 2,
            ..Config::pixel_cnn(2, 3, 0, 4)
        },
        Config {
            levels: 16,
            ..Config::pixel_cnn(3, 6, 2, 9).with_arch(Arch::RowLstm)
        },
        Config {
            residual: false,
            ..Config::pixel_cnn(1, 4, 2, 5).with_arch(Arch::RowLstm)
        },
        Config {
            levels: 16,
            ..Config::pixel_cnn(3, 6, 2, 9).with_arch(Arch::DiagonalBilstm)
        },
        Config {
            skip: false,
            ..Config::pixel_cnn(2, 4, 1, 5).with_arch(Arch::DiagonalBilstm)
        },
        Config {
            levels: 16,
            ..Config::pixel_cnn(3, 6, 2, 9).with_arch(Arch::GatedPixelCnn)
        },
        Config {
            residual: false,
            ..Config::pixel_cnn(1, 4, 2, 12).with_arch(Arch::GatedPixelCnn)
        },
        Config::pixel_cnn(3, 6, 2, 9).with_mixture(4),
        Config {
            levels: 16,
            ..Config::pixel_cnn(4, 5, 2, 7)
                .with_arch(Arch::GatedPixelCnn)
                .with_mixture(3)
        },
        Config::pixel_cnn(2, 4, 1, 5).with_arch(Arch::RowLstm).with_mixture(2),
        Config {
            levels: 8,
            ..Config::pixel_cnn(1, 4, 1, 5)
                .with_arch(Arch::DiagonalBilstm)
                .with_mixture(5)
        },
    ]
}

/// Both arithmetics, the fused one on every path this CPU has.
fn ariths() -> Vec<Arith> {
    std::iter::once(Arith::Legacy)
        .chain(Isa::available().into_iter().map(Arith::Fma))
        .collect()
}

#[test]
fn batch_and_incremental_agree_bit_for_bit() {
    let mut cfgs = configs();
    // Wide enough for whole SIMD vectors and several blocks of positions.
    cfgs.push(Config::pixel_cnn(3, 40, 1, 70));
    cfgs.push(
        Config::pixel_cnn(3, 24, 1, 40)
            .with_arch(Arch::GatedPixelCnn)
            .with_mixture(3),
    );
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let e = Engine::random(&cfg, 100 + i as u64).unwrap();
        for (w, h) in [(1, 1), (5, 1), (1, 6), (7, 5), (9, 11), (37, 3)] {
            let px = random_image(w, h, cfg.channels, cfg.levels, (w * 31 + h) as u64);
            let mut fused: Option<Vec<u32>> = None;
            for arith in ariths() {
                let b = batch_bits_with(arith, &e, &px, w, h, 2);
                let inc = incremental_bits_with(arith, &e, &px, w, h);
                assert_eq!(b.len(), w * h * cfg.channels * cfg.levels);
                assert!(b == inc, "config {i} {w}×{h} {arith:?}: batch and incremental differ");
                if let Arith::Fma(isa) = arith {
                    // Every instruction-set path: the portable path's bits.
                    match &fused {
                        None => fused = Some(b),
                        Some(f) => assert!(*f == b, "config {i} {w}×{h}: {isa:?} differs from the portable path"),
                    }
                }
            }
        }
    }
}

#[test]
fn thread_count_does_not_change_results() {
    for arch in [Arch::PixelCnn, Arch::RowLstm, Arch::DiagonalBilstm, Arch::GatedPixelCnn] {
        let base = Config::pixel_cnn(3, 6, 2, 9).with_arch(arch);
        let mut cfgs = vec![base.clone(), base.with_mixture(3)];
        if arch != Arch::GatedPixelCnn {
            cfgs.push(multi(base, 2, arch));
        }
        for cfg in cfgs {
            let e = Engine::random(&cfg, 5).unwrap();
            let px = random_image(13, 17, 3, 256, 9);
            let one = batch_bits(&e, &px, 13, 17, 1);
            for t in [2, 3, 4] {
                assert!(
                    one == batch_bits(&e, &px, 13, 17, t),
                    "{arch:?}: {t} threads differ from 1"
                );
            }
        }
    }
}

/// Changing sub-pixel t (in coding order) must leave the distributions of sub-pixels 0..=t
/// unchanged, and (for a model that is not trivially constant) change some later one.
#[test]
fn causality_by_perturbation() {
    for (i, cfg) in configs().into_iter().enumerate() {
        let e = Engine::random(&cfg, 200 + i as u64).unwrap();
        let (w, h) = (5, 4);
        let px = random_image(w, h, cfg.channels, cfg.levels, 77);
        let base = batch_bits(&e, &px, w, h, 1);
        let coded = e.coding_order(&px, w, h).into_owned();
        let l = cfg.levels;
        let mut later_changed = 0;
        for t in 0..px.len() {
            let mut q = coded.clone();
            q[t] = ((q[t] as usize + 1 + t % (l - 1)) % l) as u8;
            let got = batch_bits(&e, &e.raster(q, w, h), w, h, 1);
            let upto = (t + 1) * l;
            assert!(
                got[..upto] == base[..upto],
                "config {i}: sub-pixel {t} leaks into itself or earlier"
            );
            if got[upto..] != base[upto..] {
                later_changed += 1;
            }
        }
        assert!(
            later_changed > px.len() / 2,
            "config {i}: the model ignores its context"
        );
    }
}

#[test]
fn rejects_bad_pixel_buffers() {
    let cfg = Config {
        levels: 4,
        ..Config::pixel_cnn(1, 2, 1, 2)
    };
    let e = Engine::random(&cfg, 1).unwrap();
    let sink = |_: Dist<'_>, _: u8| Ok::<(), ModelError>(());
    assert!(e.batch(&[0, 1, 2], 2, 2, 1, sink).is_err());
    assert!(e.batch(&[0, 1, 2, 4], 2, 2, 1, sink).is_err());
    assert!(e.batch(&[], 0, 0, 1, sink).is_err());
    assert!(e.batch(&[0, 1, 2, 3], 2, 2, 1, sink).is_ok());
}

#[test]
fn distributions_are_normalised() {
    for cfg in [
        Config::pixel_cnn(3, 6, 2, 9),
        Config::pixel_cnn(3, 6, 2, 9).with_mixture(5),
    ] {
        let e = Engine::random(&cfg, 3).unwrap();
        let px = random_image(4, 3, 3, 256, 1);
        let mut p = vec![0.0; 256];
        e.batch::<ModelError>(&px, 4, 3, 1, |d, _| {
            d.probs_into(&mut p);
            let s: f64 = p.iter().map(|&x| x as f64).sum();
            assert!((s - 1.0).abs() < 1e-4 && p.iter().all(|&x| x > 0.0));
            let exact: f64 = (0..256).map(|v| d.prob(v)).sum();
            assert!((exact - 1.0).abs() < 1e-6, "{exact}");
            Ok(())
        })
        .unwrap();
    }
}

/// Batch mode hands every distribution over with its sub-pixel's value, in coding order.
#[test]
fn batch_values_come_in_coding_order() {
    for (i, cfg) in configs().into_iter().enumerate() {
        let e = Engine::random(&cfg, 300 + i as u64).unwrap();
        let (w, h) = (7, 5);
        let px = random_image(w, h, cfg.channels, cfg.levels, 5);
        let mut got = Vec::new();
        e.batch::<ModelError>(&px, w, h, 2, |_, v| {
            got.push(v);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, *e.coding_order(&px, w, h), "config {i}");
    }
}

/// Rows decoded side by side on threads give the sequential session's distributions bit for
/// bit, for every model that can; the others say they cannot.
#[test]
fn rows_side_by_side_agree_with_the_session() {
    let cfgs = [
        Config::pixel_cnn(3, 8, 2, 12),
        Config::pixel_cnn(3, 8, 1, 12).with_mixture(3),
        Config::pixel_cnn(1, 6, 2, 9).with_arch(Arch::RowLstm),
        Config {
            residual: false,
            skip: false,
            ..Config::pixel_cnn(2, 5, 1, 7)
        },
    ];
    let (w, h) = (13, 9);
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let e = Engine::random(&cfg, 400 + i as u64).unwrap();
        let px = random_image(w, h, cfg.channels, cfg.levels, 3 + i as u64);
        for arith in [Arith::Legacy, Arith::fma()] {
            let want = incremental_bits_with(arith, &e, &px, w, h);
            for threads in [1, 2, 3] {
                let rows = e
                    .rows_with(arith, w, h, threads)
                    .expect("these models decode rows side by side");
                // The 7×7 input layer reads three columns right of the centre on rows above.
                assert_eq!(rows.lag(), 3);
                let per_row: Vec<Vec<u32>> = std::thread::scope(|s| {
                    let handles: Vec<_> = (0..threads)
                        .map(|t| {
                            let (rows, px) = (&rows, &px);
                            s.spawn(move || {
                                let mut out = Vec::new();
                                for y in (t..h).step_by(threads) {
                                    let mut r = rows.row(y);
                                    let mut bits = Vec::new();
                                    for &v in &px[y * w * cfg.channels..(y + 1) * w * cfg.channels] {
                                        fingerprint(r.next_dist().unwrap(), &mut bits);
                                        r.push(v);
                                    }
                                    assert!(r.done());
                                    out.push((y, bits));
                                }
                                out
                            })
                        })
                        .collect();
                    let mut all: Vec<(usize, Vec<u32>)> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
                    all.sort_by_key(|(y, _)| *y);
                    all.into_iter().map(|(_, b)| b).collect()
                });
                assert!(per_row.concat() == want, "config {i} {arith:?}, {threads} threads");
            }
        }
    }
    let whole_rows = [
        Config::pixel_cnn(3, 6, 1, 9).with_arch(Arch::GatedPixelCnn),
        Config::pixel_cnn(3, 6, 1, 9).with_arch(Arch::DiagonalBilstm),
        multi(Config::pixel_cnn(3, 6, 1, 9), 2, Arch::PixelCnn),
    ];
    for cfg in whole_rows {
        let e = Engine::random(&cfg, 1).unwrap();
        assert!(e.rows_with(Arith::fma(), w, h, 2).is_none(), "{:?}", cfg.arch);
    }
}

/// A row whose rows above never come gives up when aborted instead of waiting forever.
#[test]
fn aborted_rows_stop_waiting() {
    let e = Engine::random(&Config::pixel_cnn(1, 4, 1, 6), 9).unwrap();
    let rows = e.rows_with(Arith::fma(), 4, 3, 2).unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| rows.row(1).next_dist().is_none());
        std::thread::sleep(std::time::Duration::from_millis(20));
        rows.abort();
        assert!(waiter.join().unwrap(), "row 1 waited for row 0, then gave up");
    });
}

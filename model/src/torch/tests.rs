//! libtorch tests: causality of every architecture by gradient, export/import, agreement with the
//! engine, and that training really lowers the loss.

use tch::{Device, Kind, Tensor};

use crate::config::{Arch, Config};
use crate::data::Images;
use crate::engine::Engine;
use crate::error::ModelError;
use crate::rng::SplitMix64;
use crate::torch::net::{batch_tensor, Model};
use crate::torch::train::evaluate;

fn cfg(arch: Arch, channels: usize) -> Config {
    Config {
        levels: 4,
        ..Config::pixel_cnn(channels, 4, 2, 6).with_arch(arch)
    }
}

const ARCHS: [Arch; 4] = [Arch::PixelCnn, Arch::RowLstm, Arch::DiagonalBilstm, Arch::GatedPixelCnn];

/// d(logits of sub-pixel t)/d(input sub-pixel s) must be exactly zero for every s ≥ t. With the
/// mixture head the network's output for a pixel serves all its sub-pixels, so it must not
/// depend on any sub-pixel of that pixel (the coupling to earlier channels is explicit).
fn check_causal(arch: Arch, channels: usize, mixture: bool) {
    tch::manual_seed(1);
    let mut c = cfg(arch, channels);
    if mixture {
        c = Config {
            levels: 256,
            ..c.with_mixture(3)
        };
    }
    let m = Model::new(&c, Device::Cpu).unwrap();
    let (h, w) = (5i64, 6i64);
    let x = (Tensor::rand([1, channels as i64, h, w], (Kind::Float, Device::Cpu)) * 2.0 - 1.0).set_requires_grad(true);
    let logits = m.net.forward(&x, None);
    let per = if mixture { c.logits() } else { c.levels } as i64;
    let proj = Tensor::rand([per], (Kind::Float, Device::Cpu)) + 0.5;
    let n = (h * w) as usize * channels;
    let mut seen_past = 0;
    for t in 0..n {
        let (pix, ch) = (t / channels, t % channels);
        let (i, j) = ((pix as i64) / w, (pix as i64) % w);
        let out = if mixture {
            logits.get(0).select(1, i).select(1, j)
        } else {
            logits.get(0).get(ch as i64).select(1, i).select(1, j)
        };
        let y = (out * &proj).sum(Kind::Float);
        let g = Tensor::run_backward(&[y], &[&x], true, false).remove(0);
        let g: Vec<f32> = Vec::try_from(g.permute([0, 2, 3, 1]).flatten(0, -1)).unwrap();
        let first = if mixture { pix * channels } else { t };
        for (s, v) in g.iter().enumerate() {
            if s >= first {
                assert_eq!(
                    *v, 0.0,
                    "{arch:?} C={channels} mixture={mixture}: sub-pixel {t} depends on sub-pixel {s}"
                );
            } else if *v != 0.0 {
                seen_past += 1;
            }
        }
    }
    assert!(
        seen_past > n * (n - 1) / 4 - if mixture { n * channels } else { 0 },
        "{arch:?}: too little context ({seen_past})"
    );
}

/// Multi-scale models, by gradient in coding order: every coded sub-pixel's logits (the small
/// network's for the small image, the conditional network's for the other pixels) have zero
/// gradient with respect to every input sub-pixel coded at or after it, and the conditional
/// network does see the small image's later pixels.
fn check_causal_multiscale(arch: Arch, small: Arch, k: usize, channels: usize) {
    tch::manual_seed(2);
    let c = crate::consistency::multi(cfg(arch, channels), k, small);
    let m = Model::new(&c, Device::Cpu).unwrap();
    let (h, w) = (5usize, 7usize);
    let x = (Tensor::rand([1, channels as i64, h as i64, w as i64], (Kind::Float, Device::Cpu)) * 2.0 - 1.0)
        .set_requires_grad(true);
    let outs = m.net.forward_all(&x);
    assert_eq!(outs.len(), 2);
    // Coding index of every raster sub-pixel, from the engine's own order.
    let raster: Vec<u8> = (0..h * w * channels).map(|i| i as u8).collect();
    let engine = Engine::random(&c, 1).unwrap();
    let order = engine.coding_order(&raster, w, h);
    let mut code = vec![0usize; raster.len()];
    for (t, &r) in order.iter().enumerate() {
        code[r as usize] = t;
    }
    let (sw, sh) = (w.div_ceil(k), h.div_ceil(k));
    let proj = Tensor::rand([c.levels as i64], (Kind::Float, Device::Cpu)) + 0.5;
    let mut future_small_seen = 0;
    // (network, y, x, channel, coding index) of every coded sub-pixel.
    let mut coded = Vec::new();
    for i in 0..sh {
        for j in 0..sw {
            for ch in 0..channels {
                coded.push((0, i, j, ch, code[((i * k) * w + j * k) * channels + ch]));
            }
        }
    }
    for y in 0..h {
        for xx in 0..w {
            if y % k != 0 || xx % k != 0 {
                for ch in 0..channels {
                    coded.push((1, y, xx, ch, code[(y * w + xx) * channels + ch]));
                }
            }
        }
    }
    for (net, y, xx, ch, t) in coded {
        let l = outs[net].get(0).get(ch as i64).select(1, y as i64).select(1, xx as i64);
        let g = Tensor::run_backward(&[(l * &proj).sum(Kind::Float)], &[&x], true, false).remove(0);
        let g: Vec<f32> = Vec::try_from(g.permute([0, 2, 3, 1]).flatten(0, -1)).unwrap();
        for (s, v) in g.iter().enumerate() {
            if code[s] >= t {
                assert_eq!(
                    *v, 0.0,
                    "{arch:?}/{small:?} k={k}: coded {t} depends on coded {}",
                    code[s]
                );
            }
            let raster_after = s >= (y * w + xx) * channels + ch;
            if net == 1 && raster_after && *v != 0.0 {
                future_small_seen += 1;
            }
        }
    }
    assert!(
        future_small_seen > 0,
        "{arch:?}: the conditional network ignores the small image"
    );
}

#[test]
fn causal_multiscale() {
    check_causal_multiscale(Arch::PixelCnn, Arch::RowLstm, 2, 3);
    check_causal_multiscale(Arch::RowLstm, Arch::DiagonalBilstm, 3, 1);
    check_causal_multiscale(Arch::DiagonalBilstm, Arch::PixelCnn, 2, 2);
}

#[test]
fn causal_pixel_cnn() {
    check_causal(Arch::PixelCnn, 3, false);
    check_causal(Arch::PixelCnn, 1, false);
    check_causal(Arch::PixelCnn, 3, true);
}

#[test]
fn causal_row_lstm() {
    check_causal(Arch::RowLstm, 3, false);
    check_causal(Arch::RowLstm, 1, false);
    check_causal(Arch::RowLstm, 2, true);
}

#[test]
fn causal_diagonal_bilstm() {
    check_causal(Arch::DiagonalBilstm, 3, false);
    check_causal(Arch::DiagonalBilstm, 1, false);
    check_causal(Arch::DiagonalBilstm, 1, true);
}

#[test]
fn causal_gated_pixel_cnn() {
    check_causal(Arch::GatedPixelCnn, 3, false);
    check_causal(Arch::GatedPixelCnn, 1, false);
    check_causal(Arch::GatedPixelCnn, 4, true);
}

/// The gated PixelCNN has no blind spot: the last pixel of a 5×6 image depends on every earlier
/// one, the far right of the rows above included (the masked PixelCNN does not).
#[test]
fn gated_pixel_cnn_has_no_blind_spot() {
    tch::manual_seed(4);
    for (arch, blind) in [(Arch::GatedPixelCnn, false), (Arch::PixelCnn, true)] {
        let c = Config {
            layers: 3,
            ..cfg(arch, 1)
        };
        let m = Model::new(&c, Device::Cpu).unwrap();
        let x = (Tensor::rand([1, 1, 5, 6], (Kind::Float, Device::Cpu)) - 0.5).set_requires_grad(true);
        let y = m
            .net
            .forward(&x, None)
            .get(0)
            .get(0)
            .select(1, 4)
            .select(1, 0)
            .sum(Kind::Float);
        let g: Vec<f32> =
            Vec::try_from(Tensor::run_backward(&[y], &[&x], false, false).remove(0).flatten(0, -1)).unwrap();
        // Pixel (4, 0) against (0, 5), (1, 5), (2, 5): the top right, outside a 3-layer PixelCNN's cone.
        let zeros: Vec<usize> = (0..24).filter(|&s| g[s] == 0.0).collect();
        assert_eq!(!zeros.is_empty(), blind, "{arch:?}: blind to {zeros:?}");
    }
}

/// The Diagonal BiLSTM sees the whole context: the last sub-pixel depends on every earlier one
/// (the Row LSTM's triangle and the PixelCNN's blind spot do not).
#[test]
fn diagonal_bilstm_sees_everything_before() {
    tch::manual_seed(3);
    let c = Config {
        layers: 2,
        ..cfg(Arch::DiagonalBilstm, 1)
    };
    let m = Model::new(&c, Device::Cpu).unwrap();
    let x = (Tensor::rand([1, 1, 4, 5], (Kind::Float, Device::Cpu)) - 0.5).set_requires_grad(true);
    let y = m
        .net
        .forward(&x, None)
        .get(0)
        .get(0)
        .select(1, 3)
        .select(1, 2)
        .sum(Kind::Float);
    let g: Vec<f32> = Vec::try_from(Tensor::run_backward(&[y], &[&x], false, false).remove(0).flatten(0, -1)).unwrap();
    // Sub-pixel (3, 2): everything before it, the far right of the rows above included, must be
    // visible (the mask-A layer passes (2, 4) on through (3, 1)).
    let zeros: Vec<usize> = (0..17).filter(|&s| g[s] == 0.0).collect();
    assert!(zeros.is_empty(), "blind to {zeros:?}");
}

#[test]
fn export_import_round_trip_every_arch() {
    for arch in ARCHS {
        let m = Model::new(&cfg(arch, 3), Device::Cpu).unwrap();
        let w = m.export().unwrap();
        let back = Model::from_weights(&w, Device::Cpu).unwrap();
        assert_eq!(back.export().unwrap().id(), w.id(), "{arch:?}");
        let reread = crate::weights::Weights::from_bytes(&w.to_bytes()).unwrap();
        assert_eq!(reread.id(), w.id());
    }
}

#[test]
fn libtorch_and_engine_logits_agree() {
    tch::manual_seed(5);
    let cases = ARCHS.iter().flat_map(|&a| {
        [
            (a, 3, 256, false, false),
            (a, 1, 16, false, false),
            (a, 2, 16, a != Arch::GatedPixelCnn, false),
            (a, 3, 256, false, true),
            (a, 4, 256, false, true),
        ]
    });
    for (arch, channels, levels, multi, mixture) in cases {
        let mut c = Config {
            levels,
            ..Config::pixel_cnn(channels, 8, 3, 16).with_arch(arch)
        };
        if mixture {
            c = c.with_mixture(5);
        }
        if multi {
            // Conditional network `arch`, small network the next architecture, k = 2 and 3.
            let small = ARCHS[(ARCHS.iter().position(|&a| a == arch).unwrap() + 1) % 3];
            c = crate::consistency::multi(c, 2 + (small as usize) % 2, small);
        }
        let m = Model::new(&c, Device::Cpu).unwrap();
        let engine = Engine::new(m.export().unwrap()).unwrap();
        let (h, w) = (7, 9);
        let mut rng = SplitMix64::new(3);
        let px: Vec<u8> = (0..h * w * channels).map(|_| rng.below(levels as u64) as u8).collect();
        let x = batch_tensor(&px, 1, h, w, channels, Device::Cpu);
        let t = tch::no_grad(|| m.net.engine_order_logits(&x));
        let t: Vec<f32> = Vec::try_from(t).unwrap();
        let e = engine.logits(&px, w, h, 1).unwrap();
        assert_eq!(t.len(), e.len());
        let worst = t.iter().zip(&e).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(
            worst < 1e-4,
            "{arch:?} C={channels} multi={multi} mixture={mixture}: max |libtorch − engine| = {worst}"
        );
        if multi || mixture {
            // The NLL counts each sub-pixel once: the small image's, then every other pixel's.
            let nll = tch::no_grad(|| m.net.nll(&x)).double_value(&[0]);
            let mut want = 0.0f64;
            let order = engine.coding_order(&px, w, h);
            let mut i = 0;
            engine
                .batch::<ModelError>(&px, w, h, 1, |p, v| {
                    assert_eq!(v, order[i], "batch hands over the values in coding order");
                    want -= p.prob(v as usize).ln();
                    i += 1;
                    Ok(())
                })
                .unwrap();
            assert_eq!(i, px.len());
            // The mixture's engine CDF interpolates a table of the sigmoid (mixture.rs).
            let tol = if mixture { 1e-4 } else { 1e-5 };
            assert!(
                (nll - want).abs() < tol * want,
                "{arch:?} mixture={mixture}: libtorch NLL {nll} vs engine {want}"
            );
        }
    }
}

#[test]
fn tiny_model_fits_a_handful_of_images() {
    tch::manual_seed(7);
    // Four 6×6 two-level patterns (stripes and checkerboards): near 1 bit/dim at the start.
    let mut px = Vec::new();
    for k in 0..4usize {
        for y in 0..6usize {
            for x in 0..6usize {
                px.push(match k {
                    0 => (x % 2) as u8,
                    1 => (y % 2) as u8,
                    2 => ((x + y) % 2) as u8,
                    _ => u8::from(x < 3),
                });
            }
        }
    }
    let imgs = Images {
        n: 4,
        h: 6,
        w: 6,
        c: 1,
        pixels: px,
    };
    let cases = ARCHS
        .iter()
        .map(|&a| (a, false))
        .chain([(Arch::PixelCnn, true), (Arch::GatedPixelCnn, true)]);
    for (arch, mixture) in cases {
        let mut c = Config {
            levels: 2,
            ..Config::pixel_cnn(1, 8, 2, 16).with_arch(arch)
        };
        if mixture {
            c = c.with_mixture(2);
        }
        let m = Model::new(&c, Device::Cpu).unwrap();
        let (_, before) = evaluate(&m, &imgs, 4);
        let mut opt = tch::nn::OptimizerConfig::build(tch::nn::Adam::default(), &m.vs, 2e-2).unwrap();
        let x = batch_tensor(&imgs.pixels, 4, 6, 6, 1, Device::Cpu);
        for _ in 0..150 {
            let loss = m.net.nll(&x).mean(Kind::Float);
            opt.backward_step(&loss);
        }
        let (_, after) = evaluate(&m, &imgs, 4);
        assert!(
            after < 0.15 && after < before / 4.0,
            "{arch:?} mixture={mixture}: {before:.3} → {after:.3} bits/dim"
        );
    }
}

/// A run saved and resumed (weights, Adam's moments, the average) continues exactly as one
/// uninterrupted run; the average is what `with_average` puts in place, and it goes back after.
#[test]
fn optimiser_state_resumes_exactly() {
    use crate::torch::optim::Optimizer;
    use crate::torch::train::Optim;
    let c = Config::pixel_cnn(3, 4, 1, 8).with_mixture(2);
    let mut rng = SplitMix64::new(11);
    let px: Vec<u8> = (0..2 * 6 * 6 * 3).map(|_| rng.below(256) as u8).collect();
    let x = batch_tensor(&px, 2, 6, 6, 3, Device::Cpu);
    let run = |m: &Model, opt: &mut Optimizer, steps: usize| {
        for _ in 0..steps {
            let loss = m.net.nll(&x).mean(Kind::Float);
            assert!(opt.step(&loss, 1.0, 1e-2, 1.0).applied);
        }
    };
    // Both runs start from the same weights: copied, not re-drawn from libtorch's global
    // generator, which tests running at the same time also draw from.
    let a = Model::new(&c, Device::Cpu).unwrap();
    let start = a.export().unwrap();
    let mut oa = Optimizer::new(Optim::Adam, a.vs.variables().into_iter().collect(), Some(0.9));
    run(&a, &mut oa, 6);

    let mut b = Model::new(&c, Device::Cpu).unwrap();
    b.load_weights(&start).unwrap();
    let mut ob = Optimizer::new(Optim::Adam, b.vs.variables().into_iter().collect(), Some(0.9));
    run(&b, &mut ob, 3);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("o.safetensors");
    ob.save(&state).unwrap();
    let w = b.export().unwrap();
    let mut b2 = Model::new(&c, Device::Cpu).unwrap();
    b2.load_weights(&w).unwrap();
    let mut ob2 = Optimizer::new(Optim::Adam, b2.vs.variables().into_iter().collect(), Some(0.9));
    ob2.load(&state).unwrap();
    assert_eq!(ob2.steps, 3);
    run(&b2, &mut ob2, 3);
    assert_eq!(
        a.export().unwrap().id(),
        b2.export().unwrap().id(),
        "resumed run differs"
    );
    let trained = a.export().unwrap().id();
    let avg_a = oa.with_average(|| a.export().unwrap().id());
    let avg_b = ob2.with_average(|| b2.export().unwrap().id());
    assert_eq!(avg_a, avg_b);
    assert_ne!(avg_a, trained, "the average is not the last weights");
    assert_eq!(a.export().unwrap().id(), trained, "with_average restores the weights");
}

//! libtorch tests: export/import, agreement with the engine, and that training really lowers
//! the loss and resumes exactly. Causality by gradient is in `causality_tests.rs`.

use tch::{Device, Kind};

use crate::config::{Arch, Config};
use crate::data::Images;
use crate::engine::Engine;
use crate::error::ModelError;
use crate::rng::SplitMix64;
use crate::torch::net::{batch_tensor, Model};
use crate::torch::train::evaluate;

pub(super) fn cfg(arch: Arch, channels: usize) -> Config {
    Config {
        levels: 4,
        ..Config::pixel_cnn(channels, 4, 2, 6).with_arch(arch)
    }
}

const ARCHS: [Arch; 4] = [Arch::PixelCnn, Arch::RowLstm, Arch::DiagonalBilstm, Arch::GatedPixelCnn];

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

//! libtorch tests of causality: by gradient, every architecture's output for a sub-pixel depends
//! on no sub-pixel coded at or after it (multi-scale models included), and the gated PixelCNN and
//! the Diagonal BiLSTM see every earlier pixel.

use tch::{Device, Kind, Tensor};

use crate::config::{Arch, Config};
use crate::engine::Engine;
use crate::torch::net::Model;
use crate::torch::tests::cfg;

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

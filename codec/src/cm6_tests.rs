//! Tests of format version 6's context model (`super`): proper distributions, learning and
//! determinism.

use super::*;

/// Codes `px` through the model, returning every sub-pixel's distribution's sum, smallest
/// entry and probability of the value that came.
fn run(px: &[u8], w: usize, h: usize, ch: usize, levels: usize) -> Vec<(f64, f32, f32)> {
    let mut m = ContextModel::new(w, h, ch, levels);
    let mut out = vec![0.0f32; levels];
    let mut got = Vec::new();
    for y in 0..h {
        for x in 0..w {
            for c in 0..ch {
                let v = px[(y * w + x) * ch + c] as usize;
                m.predict(&|j| px[j], x, y, c, &mut out);
                let sum: f64 = out.iter().map(|&p| p as f64).sum();
                let min = out.iter().copied().fold(f32::INFINITY, f32::min);
                got.push((sum, min, out[v]));
                m.update(v);
            }
        }
    }
    got
}

#[test]
fn distributions_are_proper_and_never_zero() {
    let (w, h, ch) = (23, 17, 3);
    let px: Vec<u8> = (0..w * h * ch).map(|i| ((i * 7919) % 251) as u8).collect();
    for (sum, min, p) in run(&px, w, h, ch, 256) {
        assert!((sum - 1.0).abs() < 1e-5, "sum {sum}");
        assert!(min > 0.0 && p > 0.0);
    }
    let few: Vec<u8> = px.iter().map(|&v| v % 5).collect();
    for (sum, min, _) in run(&few, w, h, ch, 5) {
        assert!((sum - 1.0).abs() < 1e-5 && min > 0.0);
    }
}

#[test]
fn repeated_neighbourhoods_become_confident() {
    // Stripes of two colours: once seen, each neighbourhood predicts its pixel.
    let (w, h, ch) = (64, 64, 3);
    let px: Vec<u8> = (0..w * h * ch)
        .map(|i| if (i / ch % w / 3) % 2 == 0 { 10 } else { 200 })
        .collect();
    let got = run(&px, w, h, ch, 256);
    let last_rows = &got[got.len() - w * ch * 8..];
    let mean = last_rows.iter().map(|g| g.2 as f64).sum::<f64>() / last_rows.len() as f64;
    assert!(mean > 0.98, "mean probability of the coded value {mean}");
}

#[test]
fn the_same_image_gives_the_same_bits() {
    let (w, h, ch) = (19, 11, 4);
    let px: Vec<u8> = (0..w * h * ch).map(|i| ((i * i) % 97) as u8).collect();
    let a = run(&px, w, h, ch, 256);
    let b = run(&px, w, h, ch, 256);
    assert!(a.iter().zip(&b).all(|(x, y)| x.2.to_bits() == y.2.to_bits()));
}

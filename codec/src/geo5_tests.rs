//! Tests of version 5's geometric stage ([`super`]).

use super::*;

#[test]
fn ln_and_exp_are_close_to_libm() {
    let mut x = 1e-30f32;
    while x < 1e30 {
        let (a, b) = (ln(x), (x as f64).ln());
        assert!((a - b).abs() < 1e-11 * b.abs().max(1.0), "ln {x}: {a} vs {b}");
        x *= 1.037;
    }
    assert_eq!(ln(1.0), 0.0);
    for i in 0..4000 {
        let x = -(i as f64) * 0.1731;
        let (a, b) = (exp(x), x.exp());
        assert!((a - b).abs() <= 1e-12 * b, "exp {x}: {a} vs {b}");
    }
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(-1e9), 0.0);
    assert_eq!(exp(f64::NAN), 0.0);
}

/// The window is the first to the last level at or above the floor, as a plain scan finds.
#[test]
fn window_matches_a_plain_scan() {
    let mut seed = 0x9e37_79b9u32;
    for n in [0, 1, 3, 8, 9, 17, 64, 256] {
        for density in [0, 1, 5, 60] {
            let p: Vec<f32> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    if seed % 100 < density {
                        1.0
                    } else {
                        0.25
                    }
                })
                .collect();
            let lo = p.iter().position(|&x| x >= 0.5).unwrap_or(0);
            let hi = n - p.iter().rev().position(|&x| x >= 0.5).unwrap_or(0);
            assert_eq!(window(&p, 0.5), (lo, hi), "{p:?}");
        }
    }
}

/// A product of two sharp sources that agree beats their linear mixture, and the stage
/// learns to lean on it; the distribution it codes sums to one.
#[test]
fn the_product_sharpens_where_sources_agree() {
    let l = 64;
    let gauss = |m: f64, s: f64| -> Vec<f32> {
        let w: Vec<f64> = (0..l).map(|v| exp(-((v as f64 - m) / s).powi(2) / 2.0)).collect();
        let z: f64 = w.iter().sum();
        w.iter().map(|x| (x / z) as f32).collect()
    };
    let model = gauss(30.0, 4.0);
    // Logistic experts of the same width, centred on level 30 (a row's peak is at MID).
    let scale = Shapes::get().scale_of(3.0);
    let counts = vec![1u32; l];
    let mut geo = Geo::new(1, l);
    let (mut lin_bits, mut fin_bits) = (0.0, 0.0);
    for _ in 0..2000 {
        let mut out = model.clone();
        let inputs = Inputs {
            probs: &model,
            scales: [scale, scale],
            frac: 0,
            first: crate::laplace::MID - 30,
            counts: &counts,
            hp: 0,
        };
        geo.mix(0, inputs, &mut out);
        let s: f64 = out.iter().map(|&p| p as f64).sum();
        assert!((s - 1.0).abs() < 1e-5, "{s}");
        lin_bits -= (model[30] as f64).log2();
        fin_bits -= geo.update(30).log2();
    }
    assert!(fin_bits < 0.9 * lin_bits, "{fin_bits} vs {lin_bits}");
    assert!(geo.weights[0].1 > ALPHA0);
}

//! Tests of the logistic-mixture head's CDF, its quantisation and its layout ([`super`]).

use super::*;
use crate::rng::SplitMix64;

fn scale(levels: usize) -> Vec<f32> {
    (0..levels)
        .map(|v| v as f32 * 2.0 / (levels - 1) as f32 - 1.0)
        .collect()
}

#[test]
fn logistic_cdf_is_monotone_and_accurate() {
    let mut prev = 0;
    let mut t = -20.0f32;
    while t < 20.0 {
        let q = logistic_cdf(t);
        assert!(q >= prev, "not monotone at {t}");
        prev = q;
        let exact = 1.0 / (1.0 + (-(t as f64)).exp());
        let err = (q as f64 / TOTAL as f64 - exact).abs();
        assert!(err < 3e-6, "Q({t}): error {err}");
        t += 0.000_37;
    }
    assert_eq!(logistic_cdf(f32::NEG_INFINITY), 0);
    assert_eq!(logistic_cdf(f32::NAN), 0);
    assert_eq!(logistic_cdf(f32::INFINITY), TOTAL);
}

/// Random (often extreme) parameters: F is strictly increasing from 0 to 2^24, `find`
/// inverts it, and the probabilities match the exact mixture in f64.
#[test]
fn cdf_is_valid_and_matches_the_exact_mixture() {
    let mut rng = SplitMix64::new(4);
    for levels in [2usize, 16, 256] {
        let sc = scale(levels);
        let ed = edges(&sc);
        for case in 0..60 {
            let layout = Layout {
                channels: 3,
                k: 1 + case % 7,
            };
            let spread = [1.0, 10.0, 100.0][case % 3];
            let p: Vec<f32> = (0..params(3, layout.k)).map(|_| rng.uniform(spread)).collect();
            let mut mix = PixelMixture::new(layout, &p);
            for c in 0..3 {
                let cdf = mix.channel(&p, c, &ed);
                assert_eq!(cdf.cum(0), 0);
                assert_eq!(cdf.cum(levels), TOTAL);
                for v in 0..levels {
                    assert!(cdf.cum(v + 1) > cdf.cum(v), "level {v} empty");
                    let mid = cdf.cum(v) + (cdf.cum(v + 1) - cdf.cum(v)) / 2;
                    assert_eq!(cdf.find(mid).0, v);
                    assert_eq!(cdf.find(cdf.cum(v)).0, v);
                }
                // The exact mixture (f64 sigmoids) at these means, scales and weights.
                let w: Vec<f64> = (0..layout.k)
                    .map(|j| cdf.w[j] as f64 / (1u64 << WEIGHT_BITS) as f64)
                    .collect();
                let f = |j: usize, v: usize| -> f64 {
                    if v == 0 {
                        return 0.0;
                    }
                    if v >= levels {
                        return 1.0;
                    }
                    let t = (ed[v] as f64 - cdf.mu[j] as f64) * cdf.inv_s[j] as f64;
                    1.0 / (1.0 + (-t).exp())
                };
                let mut worst = 0f64;
                for v in 0..levels {
                    let exact: f64 = (0..layout.k).map(|j| w[j] * (f(j, v + 1) - f(j, v))).sum();
                    worst = worst.max((cdf.prob(v) - exact).abs());
                }
                assert!(worst < 2e-5, "levels {levels} case {case} channel {c}: {worst}");
                let v = rng.below(levels as u64) as usize;
                mix.observe(&cdf, c, v, sc[v]);
            }
        }
    }
}

/// The product of the per-channel probabilities is the joint mixture probability.
#[test]
fn channel_chain_gives_the_joint() {
    let mut rng = SplitMix64::new(8);
    let sc = scale(256);
    let ed = edges(&sc);
    let layout = Layout { channels: 3, k: 4 };
    for _ in 0..20 {
        let p: Vec<f32> = (0..params(3, 4)).map(|_| rng.uniform(2.0)).collect();
        let px: Vec<usize> = (0..3).map(|_| 100 + rng.below(50) as usize).collect();
        let mut mix = PixelMixture::new(layout, &p);
        let mut chain = 1.0f64;
        let mut joint_terms = [0f64; 4];
        let pi = {
            let m = p[..4].iter().cloned().fold(f32::MIN, f32::max) as f64;
            let e: Vec<f64> = p[..4].iter().map(|&l| (l as f64 - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(|x| x / s).collect::<Vec<_>>()
        };
        for (j, t) in joint_terms.iter_mut().enumerate() {
            *t = pi[j];
        }
        for c in 0..3 {
            let cdf = mix.channel(&p, c, &ed);
            chain *= cdf.prob(px[c]);
            for (j, t) in joint_terms.iter_mut().enumerate() {
                let sig = |v: usize| 1.0 / (1.0 + (-((ed[v] as f64 - cdf.mu[j] as f64) * cdf.inv_s[j] as f64)).exp());
                *t *= sig(px[c] + 1) - sig(px[c]);
            }
            mix.observe(&cdf, c, px[c], sc[px[c]]);
        }
        let joint: f64 = joint_terms.iter().sum();
        assert!((chain.ln() - joint.ln()).abs() < 5e-3, "chain {chain} joint {joint}");
    }
}

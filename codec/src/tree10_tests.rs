//! Tests of version 10's binary stage.

use super::*;
use pixelrnn_model::rng::SplitMix64;

fn random_dist(rng: &mut SplitMix64, levels: usize) -> Vec<f32> {
    let raw: Vec<f32> = (0..levels).map(|_| rng.next_f32().powi(6)).collect();
    let s: f32 = raw.iter().sum();
    raw.iter().map(|x| x / s).collect()
}

/// Every level gets a nonzero interval, in order, tiling 0..2^24, and the quantile's level is
/// the one whose interval holds it, for any levels and any state of the tables.
#[test]
fn intervals_tile_the_range_and_find_inverts_them() {
    let mut rng = SplitMix64::new(5);
    for levels in [2usize, 3, 5, 16, 255, 256] {
        let mut t = TreeStage::new(2, levels);
        for round in 0..40 {
            let mut out = random_dist(&mut rng, levels);
            if round % 7 == 3 {
                out.iter_mut().for_each(|p| *p = 0.0);
            }
            if round % 11 == 5 {
                out[0] = f32::NAN;
            }
            let c = round % 2;
            t.prepare(&out, c);
            let tree = &t;
            let cum: Vec<u32> = (0..=levels).map(|v| tree.cum(v)).collect();
            assert_eq!((cum[0], cum[levels]), (0, TOTAL));
            assert!(cum.windows(2).all(|w| w[0] < w[1]), "levels {levels}: {cum:?}");
            for v in 0..levels {
                for q in [cum[v], cum[v + 1] - 1, (cum[v] + cum[v + 1]) / 2] {
                    assert_eq!(tree.find(q), (v, cum[v], cum[v + 1]));
                }
                let f = (cum[v + 1] - cum[v]) as f64 / TOTAL as f64;
                assert_eq!(tree.prob(v), f);
                let span = tree.span(v);
                assert_eq!(
                    (span.0, span.1.get()),
                    (cum[v], cum[v + 1] - cum[v]),
                    "the encoder's interval"
                );
            }
            let v = (rng.next_u64() % levels as u64) as usize;
            let p = t.prob(v);
            // The last walk went elsewhere (another level's interval): update walks v's path.
            if round % 2 == 0 {
                let other = (v + 1) % levels;
                (&t).cum(other);
            }
            assert_eq!(t.update(v), p, "update gives the coded probability");
        }
    }
}

/// Where the distribution keeps giving the same wrong shape (uniform over 256 levels, while
/// only four values occur), the tables learn it: the coded cost falls far below 8 bits.
#[test]
fn the_tables_learn_what_the_distribution_misses() {
    let mut t = TreeStage::new(1, 256);
    let uniform = vec![1.0 / 256.0; 256];
    t.prepare(&uniform, 0);
    assert!((-t.prob(17).log2() - 8.0).abs() < 1e-3, "starts as the distribution");
    let mut last = 0.0;
    for i in 0..4000 {
        let v = [17usize, 18, 200, 201][i % 4];
        t.prepare(&uniform, 0);
        if i >= 3900 {
            last += -t.prob(v).log2() / 100.0;
        }
        t.update(v);
    }
    assert!(last < 4.0, "learnt: {last} bits");
}

/// A sharp, right distribution loses little: the stage starts as the identity.
#[test]
fn a_sharp_distribution_stays_sharp() {
    let mut t = TreeStage::new(1, 256);
    let mut out = vec![1e-7f32; 256];
    out[77] = 1.0 - 255e-7;
    t.prepare(&out, 0);
    assert!(t.prob(77) > 0.99, "{}", t.prob(77));
}

#[test]
fn log2_from_the_bits() {
    assert_eq!(log2_bits(1.0), 0.0);
    assert_eq!(log2_bits(8.0), 3.0);
    assert_eq!(log2_bits(0.25), -2.0);
    assert_eq!(log2_bits(1.5), 0.5);
}

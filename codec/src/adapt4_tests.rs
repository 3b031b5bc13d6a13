//! Tests of version 4's adaptive state ([`super`]): version 11's bias shrunk towards its
//! activity pair's mean error.

use super::*;

/// Feeds `n` errors `e` to the bias context `bctx` and its pair's mean, as `update` does.
fn feed(s: &mut State4, bctx: usize, pair: usize, e: f64, n: usize) {
    for _ in 0..n {
        s.bias[bctx].add(e, BIAS_LIMIT);
        if let Some(c) = s.coarse.get_mut(pair) {
            c.add(e, COARSE_LIMIT);
        }
    }
}

#[test]
fn the_bias_shrinks_towards_its_activity_pair_from_version_11() {
    let (v10, v11) = (State4::new(10, (8, 3), 1, 256), State4::new(11, (8, 3), 1, 256));
    let pair = 3;
    let (seen, unseen) = (pair * TEXTURES + 5, pair * TEXTURES + 6);
    for (mut s, version) in [(v10, 10), (v11, 11)] {
        assert_eq!(s.bias(seen, pair), 0.0, "version {version}: nothing seen");
        // 150 errors of 8 quarters in one texture (the count is halved at 128: 86 left).
        feed(&mut s, seen, pair, 8.0, 150);
        // 60 errors of 2 quarters in another texture of the same pair.
        feed(&mut s, pair * TEXTURES + 7, pair, 2.0, 60);
        let (b_seen, b_unseen) = (s.bias(seen, pair), s.bias(unseen, pair));
        if version == 10 {
            assert_eq!((b_seen, b_unseen), (8.0, 0.0), "version 10: each texture alone");
            assert!(s.coarse.is_empty());
        } else {
            // The pair's mean: 210 errors, (150·8 + 60·2) / 210, the count under 256.
            let pair_mean = (150.0 * 8.0 + 60.0 * 2.0) / 210.0;
            assert!((s.coarse[pair].get() - pair_mean).abs() < 1e-12);
            let want = (86.0 * 8.0 + SHRINK * pair_mean) / (86.0 + SHRINK);
            assert!((b_seen - want).abs() < 1e-12, "{b_seen} vs {want}");
            assert!(
                (b_unseen - pair_mean).abs() < 1e-12,
                "an unseen texture takes the pair's mean"
            );
        }
    }
}

#[test]
fn version_11_learns_the_correction_faster() {
    assert_eq!(State4::new(10, (8, 3), 3, 256).rate, NLMS_RATE);
    assert_eq!(State4::new(11, (8, 3), 3, 256).rate, NLMS_RATE_11);
    const { assert!(NLMS_RATE_11 > NLMS_RATE) };
}

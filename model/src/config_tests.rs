//! Tests of the model configuration: channel groups, masks and validation ([`super`]).

use super::*;

#[test]
fn groups_partition_and_invert() {
    for n in 1..40 {
        for groups in 1..=4 {
            let mut next = 0;
            for g in 0..groups {
                let r = group_range(n, groups, g);
                assert_eq!(r.start, next);
                next = r.end;
                for k in r {
                    assert_eq!(group_of(k, n, groups), g, "n={n} G={groups} k={k}");
                }
            }
            assert_eq!(next, n);
        }
    }
}

#[test]
fn softmax_configs_serialise_as_before() {
    let c = Config::pixel_cnn(3, 8, 2, 16);
    let j = serde_json::to_string(&c).unwrap();
    assert!(!j.contains("head"), "{j}");
    let m = c.with_mixture(10);
    let j = serde_json::to_string(&m).unwrap();
    assert!(
        j.contains(r#""head":{"kind":"logistic_mixture","components":10}"#),
        "{j}"
    );
    assert_eq!(serde_json::from_str::<Config>(&j).unwrap(), m);
    assert_eq!(m.groups(), 1);
    assert_eq!(c.groups(), 3);
    assert_eq!(m.logits(), 10 * (1 + 6 + 3));
}

#[test]
fn logits_group_is_its_subpixel() {
    let levels = 256;
    for c in 0..3 {
        assert_eq!(group_range(3 * levels, 3, c), c * levels..(c + 1) * levels);
    }
}

#[test]
fn validate_rejects_out_of_range() {
    let good = Config::pixel_cnn(3, 8, 2, 16);
    good.validate().unwrap();
    for bad in [
        Config {
            channels: 0,
            ..good.clone()
        },
        Config {
            channels: 5,
            ..good.clone()
        },
        Config {
            levels: 1,
            ..good.clone()
        },
        Config {
            levels: 257,
            ..good.clone()
        },
        Config {
            hidden: 2,
            ..good.clone()
        },
        Config {
            out_hidden: 1,
            ..good.clone()
        },
        Config {
            layers: 100_000,
            ..good.clone()
        },
        Config {
            version: 99,
            ..good.clone()
        },
        good.with_mixture(0),
        good.with_mixture(MAX_COMPONENTS + 1),
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

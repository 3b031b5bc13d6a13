//! Tests of the engine's own exp, sigmoid, tanh and softmax ([`super`]).

use super::*;

#[test]
fn exp_is_accurate() {
    let mut worst = 0.0f64;
    let mut x = -87.0f32;
    while x < 88.0 {
        let got = exp(x) as f64;
        let want = (x as f64).exp();
        let rel = ((got - want) / want).abs();
        worst = worst.max(rel);
        x += 0.0137;
    }
    assert!(worst < 3e-7, "worst relative error {worst}");
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(-100.0), 0.0);
    assert_eq!(exp(100.0), f32::INFINITY);
    assert!(exp(f32::NAN).is_nan());
}

/// Softmax as format versions 1–3 define it, in serial loops with the branching exp.
fn softmax_reference(logits: &[f32], out: &mut [f32]) {
    let mut m = f32::NEG_INFINITY;
    for &l in logits {
        if l > m {
            m = l;
        }
    }
    for (o, &l) in out.iter_mut().zip(logits) {
        *o = exp(l - m);
    }
    let inv = 1.0 / sum(out);
    for o in out.iter_mut() {
        *o *= inv;
    }
}

#[test]
fn softmax_gives_the_reference_bits_on_every_path() {
    type Path = fn(&[f32], &mut [f32]);
    // Only x86-64 adds paths (elsewhere `mut` would warn).
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
    let mut paths: Vec<(&str, Path)> = vec![("portable", softmax_body), ("dispatched", softmax)];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            paths.push(("avx2", |l, o| unsafe { softmax_avx2(l, o) }));
        }
        if std::is_x86_feature_detected!("avx512f") {
            paths.push(("avx512", |l, o| unsafe { softmax_avx512(l, o) }));
        }
    }
    let mut seed = 3u64;
    let mut rnd = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 40) as f32 / 16_777_216.0
    };
    for n in [1usize, 2, 7, 15, 16, 17, 33, 255, 256, 257, 768] {
        for case in 0..12 {
            let logits: Vec<f32> = (0..n)
                .map(|i| match case {
                    0 => 0.0,
                    1 => {
                        if i % 2 == 0 {
                            0.0
                        } else {
                            -0.0
                        }
                    }
                    2 => {
                        if i % 5 == 1 {
                            f32::NAN
                        } else {
                            rnd() * 20.0 - 10.0
                        }
                    }
                    3 => {
                        if i % 9 == 4 {
                            f32::NEG_INFINITY
                        } else {
                            rnd()
                        }
                    }
                    4 => {
                        if i == n / 2 {
                            f32::INFINITY
                        } else {
                            rnd()
                        }
                    }
                    5 => (rnd() - 0.5) * 400.0,
                    _ => (rnd() - 0.5) * (case as f32 * 3.0),
                })
                .collect();
            let mut want = vec![0.0; n];
            softmax_reference(&logits, &mut want);
            for (name, path) in &paths {
                let mut got = vec![1.0; n];
                path(&logits, &mut got);
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()));
                assert!(same, "{name}, n = {n}, case {case}: {got:?} vs {want:?}");
            }
        }
    }
}

#[test]
fn branchless_exp_gives_the_bits_of_exp() {
    let same = |x: f32| {
        let (a, b) = (exp(x), exp_branchless(x));
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "exp({x:e}): {a:e} vs {b:e}"
        );
    };
    for x in [
        0.0,
        -0.0,
        -87.3,
        -87.29999,
        88.7,
        88.70001,
        88.72,
        -104.0,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1e-30,
        -1e-30,
    ] {
        same(x);
    }
    let mut x = -100.0f32;
    while x < 100.0 {
        same(x);
        x += 0.000_37;
    }
    let mut s = 12345u32;
    for _ in 0..4_000_000 {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        same(f32::from_bits(s));
    }
}

#[test]
fn sigmoid_and_tanh_are_accurate() {
    let mut x = -20.0f32;
    while x < 20.0 {
        let s = sigmoid(x) as f64;
        let want = 1.0 / (1.0 + (-(x as f64)).exp());
        assert!((s - want).abs() < 1e-6, "sigmoid({x}) = {s}, want {want}");
        let t = tanh(x) as f64;
        assert!((t - (x as f64).tanh()).abs() < 1e-6, "tanh({x}) = {t}");
        x += 0.01;
    }
    assert_eq!(tanh(0.0), 0.0);
}

#[test]
fn dot_matches_f64_and_has_a_fixed_order() {
    let a: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
    let b: Vec<f32> = (0..37).map(|i| (i as f32 * 0.11).cos()).collect();
    let want: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
    assert!((dot(&a, &b) as f64 - want).abs() < 1e-5);
    // The fixed order: the first eight products land in separate lanes.
    let mut l = [0.0f32; 8];
    for k in 0..37 {
        l[k % 8] += a[k] * b[k];
    }
    let manual = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
    assert_eq!(dot(&a, &b).to_bits(), manual.to_bits());
    assert_eq!(sum(&a).to_bits(), dot(&a, &[1.0; 37]).to_bits());
}

#[test]
fn softmax_sums_to_one() {
    let l: Vec<f32> = (0..256).map(|i| ((i * 7919) % 113) as f32 * 0.1 - 5.0).collect();
    let mut p = vec![0.0; 256];
    softmax(&l, &mut p);
    let s: f64 = p.iter().map(|&x| x as f64).sum();
    assert!((s - 1.0).abs() < 1e-5);
    assert!(p.iter().all(|&x| x > 0.0));
}

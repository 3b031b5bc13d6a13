//! Remembered outputs ([`crate::memo`]) against computed ones: the field holds every pixel an
//! output can see (by perturbation), and sessions and rows in step give the same bits with the
//! memo as without it, on images whose neighbourhoods repeat.

use crate::config::{group_range, Arch, Config};
use crate::consistency::{fingerprint, multi, random_image};
use crate::engine::{Engine, EngineSession};
use crate::group_tests::grouped_bits_in;
use crate::kernels::{Arith, Isa};
use crate::memo::Field;
use crate::rng::SplitMix64;
use crate::ModelError;

fn configs() -> Vec<Config> {
    vec![
        Config::pixel_cnn(3, 8, 2, 9),
        Config::pixel_cnn(1, 4, 3, 5),
        Config::pixel_cnn(3, 6, 1, 8).with_mixture(2),
        Config::pixel_cnn(4, 5, 1, 6),
        Config {
            residual: false,
            skip: false,
            levels: 16,
            ..Config::pixel_cnn(2, 8, 2, 6)
        },
    ]
}

/// Whether sub-pixel (yy, xx, cc) is in the field of channel group c's outputs at (y, x).
fn inside(
    f: &Field,
    (channels, groups): (usize, usize),
    (y, x, c): (usize, usize, usize),
    (yy, xx, cc): (usize, usize, usize),
) -> bool {
    let Some(k) = y.checked_sub(yy) else { return false };
    let Some(Some((lo, hi))) = f.rows.get(k) else {
        return false;
    };
    let dx = xx as isize - x as isize;
    if dx < *lo || dx > *hi {
        return false;
    }
    k > 0 || xx < x || cc < group_range(channels, groups, c).start
}

/// Perturbing any sub-pixel changes only outputs whose field holds it: the field is what a
/// key must cover for equal keys to mean equal outputs. Every row of the field is reached.
#[test]
fn the_field_holds_every_sub_pixel_an_output_sees() {
    for (i, cfg) in configs().into_iter().enumerate() {
        let e = Engine::random(&cfg, 40 + i as u64).unwrap();
        let g = e.graph();
        let f = Field::of(g).expect("a PixelCNN has a field");
        assert_eq!(
            f.rows.len(),
            3 + cfg.layers + 1,
            "config {i}: the 7×7 input and a row per block"
        );
        let (w, h, ch) = (13, 11, cfg.channels);
        let px = random_image(w, h, ch, cfg.levels, 3 + i as u64);
        let base = e.logits(&px, w, h, 1).unwrap();
        let np = base.len() / (w * h);
        let mut reached = vec![false; f.rows.len()];
        for j in 0..px.len() {
            let mut q = px.clone();
            q[j] = ((q[j] as usize + 1 + cfg.levels / 2) % cfg.levels) as u8;
            let out = e.logits(&q, w, h, 1).unwrap();
            let seen = (j / ch / w, j / ch % w, j % ch);
            for p in 0..w * h {
                for c in 0..g.groups {
                    let r = group_range(np, g.groups, c);
                    let (a, b) = (&base[p * np..][r.clone()], &out[p * np..][r]);
                    if a.iter().zip(b).any(|(u, v)| u.to_bits() != v.to_bits()) {
                        let at = (p / w, p % w, c);
                        assert!(inside(&f, (ch, g.groups), at, seen), "config {i}: {at:?} sees {seen:?}");
                        reached[at.0 - seen.0] = true;
                    }
                }
            }
        }
        assert!(
            reached.iter().all(|&r| r),
            "config {i}: rows of the field reached {reached:?}"
        );
    }
}

/// A mostly flat image (two colours, in blocks) with sparse dots: neighbourhoods repeat, and a
/// dot just inside an output's field changes it.
fn repetitive(w: usize, h: usize, ch: usize, levels: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed);
    let mut px = Vec::with_capacity(w * h * ch);
    for y in 0..h {
        for x in 0..w {
            let dot = rng.below(97) == 0;
            for c in 0..ch {
                let flat = if (x / 17 + y / 13) % 3 == 0 { levels - 1 - c } else { c };
                px.push(if dot { rng.below(levels as u64) as usize } else { flat } as u8);
            }
        }
    }
    px
}

/// The session's fingerprints, with or without its memo, and its (look-ups, hits).
fn session_bits(e: &Engine, arith: Arith, px: &[u8], (w, h): (usize, usize), memo: bool) -> (Vec<u32>, (u64, u64)) {
    let EngineSession::Single(mut s) = e.session_with(arith, w, h) else {
        unreachable!("single-scale")
    };
    if !memo {
        s.forget();
    }
    let mut out = Vec::new();
    for &v in px {
        fingerprint(s.next_dist(), &mut out);
        s.push(v);
    }
    (out, s.remembered())
}

#[test]
fn remembered_outputs_are_the_computed_ones_bit_for_bit() {
    let mut ariths = vec![Arith::Fma(Isa::Portable)];
    ariths.extend(Isa::available().into_iter().skip(1).map(Arith::Fma));
    for (i, cfg) in configs().into_iter().enumerate() {
        let e = Engine::random(&cfg, 70 + i as u64).unwrap();
        for (w, h) in [(48, 40), (6, 14)] {
            let px = repetitive(w, h, cfg.channels, cfg.levels, 11 + i as u64);
            for &arith in &ariths {
                let what = format!("config {i}, {w}×{h}, {arith:?}");
                let (want, none) = session_bits(&e, arith, &px, (w, h), false);
                assert_eq!(none, (0, 0), "{what}: no memo");
                let (got, (lookups, hits)) = session_bits(&e, arith, &px, (w, h), true);
                assert!(got == want, "{what}: the session");
                let groups = e.graph().groups as u64;
                assert_eq!(lookups, (w * h) as u64 * groups, "{what}: a look-up per group");
                assert!(w < 48 || hits * 4 > lookups, "{what}: {hits} hits of {lookups}");
                for (s, threads, slots) in [(1, 1, None), (1, 1, Some(1024)), (3, 2, Some(4)), (4, 1, Some(64))] {
                    let rows = e.rows_with(arith, w, h, s).unwrap().remember(slots);
                    let got = grouped_bits_in(&rows, cfg.channels, &px, (w, h, s), threads, 0);
                    assert!(
                        got == want,
                        "{what}: {s} rows in flight, {threads} threads, {slots:?} slots"
                    );
                    let (lookups, hits) = rows.remembered();
                    assert_eq!(lookups > 0, slots.is_some(), "{what}: {slots:?} slots");
                    assert!(
                        slots != Some(1024) || w < 48 || hits * 4 > lookups,
                        "{what}: {hits} of {lookups}"
                    );
                }
            }
        }
    }
}

/// Batch mode (encoding): a pixel's groups at once, blocks of positions split into runs around
/// the remembered ones; rows one after another and side by side on threads.
#[test]
fn batch_mode_remembers_the_same_bits() {
    for (i, cfg) in configs().into_iter().enumerate() {
        let e = Engine::random(&cfg, 90 + i as u64).unwrap();
        for (w, h) in [(48, 40), (6, 14), (37, 20)] {
            let px = repetitive(w, h, cfg.channels, cfg.levels, 21 + i as u64);
            let what = format!("config {i}, {w}×{h}");
            let (want, _) = session_bits(&e, Arith::fma(), &px, (w, h), false);
            let wave = e
                .row_wave(Arith::fma(), &px, w, h, 1)
                .unwrap()
                .expect("a PixelCNN's rows");
            let mut got = Vec::new();
            for y in 0..h {
                wave.row(y)
                    .unwrap()
                    .for_each::<ModelError>(|d, _| {
                        fingerprint(d, &mut got);
                        Ok(())
                    })
                    .unwrap();
            }
            assert!(got == want, "{what}: rows in order");
            let (lookups, hits) = wave.remembered();
            assert_eq!(lookups, (w * h) as u64, "{what}: a look-up per pixel");
            assert!(w != 48 || hits * 6 > lookups, "{what}: {hits} hits of {lookups}");
            for threads in [1, 2, 3] {
                let rows = std::sync::Mutex::new(vec![Vec::new(); h]);
                e.batch_rows_with::<ModelError>(Arith::fma(), &px, w, h, threads, |b| {
                    let mut bits = Vec::new();
                    b.for_each(|d, _| {
                        fingerprint(d, &mut bits);
                        Ok(())
                    })?;
                    rows.lock().unwrap()[b.y()] = bits;
                    Ok(())
                })
                .unwrap()
                .unwrap();
                assert!(rows.into_inner().unwrap().concat() == want, "{what}: {threads} threads");
            }
        }
    }
}

/// The memo is off where outputs do not come from a bounded field of convolutions, and in
/// format versions 1 and 2's arithmetic (no one-call plans to replay).
#[test]
fn recurrent_whole_row_and_conditioned_models_remember_nothing() {
    let base = Config::pixel_cnn(1, 4, 1, 5);
    for cfg in [
        base.with_arch(Arch::RowLstm),
        base.with_arch(Arch::DiagonalBilstm),
        base.with_arch(Arch::GatedPixelCnn),
        multi(base.clone(), 2, Arch::PixelCnn),
    ] {
        let e = Engine::random(&cfg, 5).unwrap();
        assert!(Field::of(e.graph()).is_none(), "{:?}", cfg.arch);
    }
    let e = Engine::random(&base, 5).unwrap();
    let px = repetitive(20, 9, 1, 256, 1);
    let (_, (lookups, _)) = session_bits(&e, Arith::Legacy, &px, (20, 9), true);
    assert_eq!(lookups, 0, "legacy arithmetic");
}

/// Where neighbourhoods do not repeat (noise), the memo switches itself off after a probe of
/// 2048 look-ups; where they do, it stays on.
#[test]
fn the_memo_switches_off_where_it_does_not_pay() {
    let e = Engine::random(&Config::pixel_cnn(1, 4, 1, 5), 8).unwrap();
    let (w, h) = (64, 64);
    let noise = random_image(w, h, 1, 256, 2);
    let (want, _) = session_bits(&e, Arith::fma(), &noise, (w, h), false);
    let (got, (lookups, hits)) = session_bits(&e, Arith::fma(), &noise, (w, h), true);
    assert!(got == want);
    assert_eq!((lookups, hits), (2048, 0), "one probe, then off");
    let flat = repetitive(w, h, 1, 256, 3);
    let (_, (lookups, hits)) = session_bits(&e, Arith::fma(), &flat, (w, h), true);
    assert_eq!(lookups, (w * h) as u64, "on throughout");
    assert!(hits * 2 > lookups, "{hits} of {lookups}");
}

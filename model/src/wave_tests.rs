//! Batch mode's rows side by side ([`crate::wave`]) and row waves: the distributions of
//! incremental mode bit for bit on any thread count, and no thread waits forever.

use std::sync::Mutex;

use crate::config::{Arch, Config};
use crate::consistency::{batch_bits_with, fingerprint, incremental_bits_with, random_image};
use crate::engine::Engine;
use crate::error::ModelError;
use crate::kernels::Arith;

/// Every row's distributions, as bits, from `batch_rows` on `threads` threads.
fn rows_bits(e: &Engine, arith: Arith, px: &[u8], (w, h): (usize, usize), threads: usize) -> Vec<u32> {
    let rows = Mutex::new(vec![Vec::new(); h]);
    e.batch_rows_with::<ModelError>(arith, px, w, h, threads, |b| {
        let mut bits = Vec::new();
        b.for_each(|d, _| {
            fingerprint(d, &mut bits);
            Ok::<(), ModelError>(())
        })?;
        rows.lock().unwrap()[b.y()] = bits;
        Ok(())
    })
    .expect("a single-scale model")
    .unwrap();
    rows.into_inner().unwrap().concat()
}

/// Rows side by side (and the one-row-at-a-time path of the models that need whole rows)
/// give the distributions of batch mode's row-parallel path and of incremental mode bit
/// for bit, for any thread count.
#[test]
fn rows_side_by_side_agree_with_batch_mode() {
    let cfgs = [
        Config::pixel_cnn(3, 8, 2, 12),
        Config::pixel_cnn(3, 8, 1, 12).with_mixture(3),
        Config::pixel_cnn(1, 6, 2, 9).with_arch(Arch::RowLstm),
        Config::pixel_cnn(3, 6, 1, 9).with_arch(Arch::GatedPixelCnn),
        Config::pixel_cnn(2, 6, 1, 9).with_arch(Arch::DiagonalBilstm),
    ];
    // Wider than a block of positions, so rows wait on each other mid-row.
    let (w, h) = (37, 7);
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let e = Engine::random(&cfg, 40 + i as u64).unwrap();
        let px = random_image(w, h, cfg.channels, cfg.levels, 8 + i as u64);
        for arith in [Arith::Legacy, Arith::fma()] {
            let want = incremental_bits_with(arith, &e, &px, w, h);
            // Two threads: the positions of a row in parallel, rows in turn.
            assert!(batch_bits_with(arith, &e, &px, w, h, 2) == want, "config {i} {arith:?}");
            for threads in [1, 2, 3, 8] {
                let got = rows_bits(&e, arith, &px, (w, h), threads);
                assert!(got == want, "config {i} {arith:?}, {threads} threads");
            }
        }
    }
}

/// A row function's error ends the batch with that error, whichever thread it is on,
/// and no thread waits forever for the failed row.
#[test]
fn a_failing_row_stops_every_thread() {
    let e = Engine::random(&Config::pixel_cnn(1, 4, 1, 6), 9).unwrap();
    let (w, h) = (40, 12);
    let px = random_image(w, h, 1, 256, 1);
    for bad in [0, 1, 5] {
        for threads in [1, 2, 3] {
            let r = e
                .batch_rows_with::<ModelError>(Arith::fma(), &px, w, h, threads, |b| {
                    if b.y() == bad {
                        return Err(ModelError::bad("test", format!("row {bad} fails")));
                    }
                    b.for_each(|_, _| Ok::<(), ModelError>(()))
                })
                .unwrap();
            let msg = r.unwrap_err().to_string();
            assert!(msg.contains(&format!("row {bad} fails")), "{msg}");
        }
    }
    // Skipping a row is an error too, not a hang.
    let r = e
        .batch_rows_with::<ModelError>(Arith::fma(), &px, w, h, 2, |b| match b.y() {
            3 => Ok(()),
            _ => b.for_each(|_, _| Ok::<(), ModelError>(())),
        })
        .unwrap();
    assert!(r.unwrap_err().to_string().contains("skipped row 3"));
}

/// A row wave's rows, driven by the caller's threads (rows k, k + T, … on thread k), give
/// batch mode's distributions; a row taken twice is an error; an abort frees a row that
/// waits for a row nobody computes.
#[test]
fn a_row_wave_gives_batch_modes_rows_on_the_callers_threads() {
    let e = Engine::random(&Config::pixel_cnn(3, 8, 2, 12).with_mixture(2), 5).unwrap();
    let (w, h) = (37, 7);
    let px = random_image(w, h, 3, 256, 3);
    let want = incremental_bits_with(Arith::fma(), &e, &px, w, h);
    for t in [1, 2, 3] {
        let wave = e.row_wave(Arith::fma(), &px, w, h, t).unwrap().expect("a PixelCNN");
        let rows = Mutex::new(vec![Vec::new(); h]);
        std::thread::scope(|s| {
            for k in 0..t {
                let (wave, rows) = (&wave, &rows);
                s.spawn(move || {
                    for y in (k..h).step_by(t) {
                        let mut bits = Vec::new();
                        wave.row(y)
                            .unwrap()
                            .for_each(|d, _| {
                                fingerprint(d, &mut bits);
                                Ok::<(), ModelError>(())
                            })
                            .unwrap();
                        rows.lock().unwrap()[y] = bits;
                    }
                });
            }
        });
        assert!(rows.into_inner().unwrap().concat() == want, "{t} threads");
        assert!(wave.row(0).is_err() && wave.row(h).is_err(), "taken, outside");
    }
    let wave = e.row_wave(Arith::fma(), &px, w, h, 2).unwrap().unwrap();
    std::thread::scope(|s| {
        // Row 3 waits for row 1, which nobody computes, until the abort.
        let waiting = s.spawn(|| wave.row(3).map(|_| ()));
        std::thread::sleep(std::time::Duration::from_millis(20));
        wave.abort();
        assert!(waiting.join().unwrap().is_err());
    });
}

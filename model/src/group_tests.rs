//! Rows decoded in step ([`crate::group`]) against the sequential session: the same bits for
//! every layout of rows over threads, and no thread waits forever.

use crate::config::{Arch, Config};
use crate::consistency::{fingerprint, incremental_bits_with, random_image};
use crate::engine::Engine;
use crate::kernels::{Arith, Isa};
use crate::rows::Rows;

/// Decodes every row of `px` with `threads` threads, thread t taking the rows y with
/// `(y mod s) mod threads == t` in groups of one period of `s` rows (as the codec's substreams
/// do), each row `extra` columns more behind than the model needs; the bits of each row.
fn grouped_bits(
    e: &Engine,
    arith: Arith,
    px: &[u8],
    (w, h): (usize, usize),
    s: usize,
    threads: usize,
    extra: usize,
) -> Vec<u32> {
    let rows = e.rows_with(arith, w, h, s).expect("decodes rows side by side");
    grouped_bits_in(&rows, e.channels(), px, (w, h, s), threads, extra)
}

/// [`grouped_bits`] with the rows given (`s` rows in flight).
pub(crate) fn grouped_bits_in(
    rows: &Rows,
    ch: usize,
    px: &[u8],
    (w, h, s): (usize, usize, usize),
    threads: usize,
    extra: usize,
) -> Vec<u32> {
    let lag = rows.lag() + extra;
    let per_row: Vec<Vec<u32>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                sc.spawn(move || {
                    let mut out = Vec::new();
                    for start in (0..h).step_by(s) {
                        let ys: Vec<usize> = (start..(start + s).min(h)).filter(|y| (y % s) % threads == t).collect();
                        if ys.is_empty() {
                            continue;
                        }
                        let mut g = rows.group(&ys, lag);
                        let mut bits = vec![Vec::new(); ys.len()];
                        loop {
                            let act = g.step().expect("not aborted");
                            if act.is_empty() {
                                break;
                            }
                            for j in act {
                                let (y, x, c) = g.position(j);
                                fingerprint(g.dist(j), &mut bits[j]);
                                g.push(j, px[(y * w + x) * ch + c]);
                            }
                        }
                        out.extend(ys.into_iter().zip(bits));
                    }
                    out
                })
            })
            .collect();
        let mut all: Vec<(usize, Vec<u32>)> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_by_key(|(y, _)| *y);
        assert_eq!(all.len(), h, "every row once");
        all.into_iter().map(|(_, b)| b).collect()
    });
    per_row.concat()
}

#[test]
fn rows_in_step_agree_with_the_session() {
    let cfgs = [
        Config::pixel_cnn(3, 8, 2, 12),
        Config::pixel_cnn(3, 8, 1, 12).with_mixture(3),
        Config::pixel_cnn(1, 6, 2, 9).with_arch(Arch::RowLstm),
        Config::pixel_cnn(4, 6, 1, 8),
    ];
    let mut ariths = vec![Arith::Legacy, Arith::Fma(Isa::Portable)];
    ariths.extend(Isa::available().into_iter().skip(1).map(Arith::Fma));
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let e = Engine::random(&cfg, 500 + i as u64).unwrap();
        // Narrower than the offsets between rows, and wider.
        for (w, h) in [(5, 11), (23, 9)] {
            let px = random_image(w, h, cfg.channels, cfg.levels, 7 + i as u64);
            for &arith in &ariths {
                let want = incremental_bits_with(arith, &e, &px, w, h);
                for (s, threads) in [(1, 1), (2, 1), (3, 1), (4, 1), (4, 2), (3, 2), (4, 3), (8, 3), (4, 4)] {
                    for extra in [0, 2] {
                        let got = grouped_bits(&e, arith, &px, (w, h), s, threads, extra);
                        let what =
                            format!("config {i}, {w}×{h}, {arith:?}, {s} substreams, {threads} threads, +{extra}");
                        assert!(got == want, "{what}");
                    }
                }
            }
        }
    }
}

/// A group whose rows above never come gives up when aborted.
#[test]
fn aborted_groups_stop_waiting() {
    let e = Engine::random(&Config::pixel_cnn(1, 4, 1, 6), 9).unwrap();
    let rows = e.rows_with(Arith::fma(), 4, 5, 4).unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| rows.group(&[1, 3], rows.lag()).step().is_none());
        std::thread::sleep(std::time::Duration::from_millis(20));
        rows.abort();
        assert!(waiter.join().unwrap(), "row 1 waited for row 0, then gave up");
    });
}

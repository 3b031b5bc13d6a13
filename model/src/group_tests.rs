//! Rows decoded in step ([`crate::group`]) against the sequential session: the same bits for
//! every layout of rows over threads, and no thread waits forever.

use crate::config::{Arch, Config, Head};
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

/// A reader of one channel alone (`only`, the alpha split's alpha model): that channel's
/// distributions keep their bits, in the session and in rows in step on any threads, with the
/// memo finding outputs (a flat image) or not (noise); the others are not computed (the session
/// returns the wanted channel's last one again). The mixture head computes as before.
#[test]
fn only_the_wanted_channel_keeps_its_bits() {
    let cfgs = [
        Config::pixel_cnn(4, 6, 1, 8),
        Config::pixel_cnn(2, 8, 2, 10),
        Config::pixel_cnn(4, 6, 1, 8).with_mixture(2),
    ];
    for (i, cfg) in cfgs.into_iter().enumerate() {
        let e = Engine::random(&cfg, 700 + i as u64).unwrap();
        let (ch, levels, last) = (cfg.channels, cfg.levels, cfg.channels - 1);
        let (w, h) = (13, 9);
        let noise = random_image(w, h, ch, levels, 3 + i as u64);
        for px in [noise, vec![1u8; w * h * ch]] {
            for arith in [Arith::Legacy, Arith::fma()] {
                let full = incremental_bits_with(arith, &e, &px, w, h);
                let per = full.len() / (w * h * ch);
                let wanted = |bits: &[u32]| -> Vec<u32> {
                    let sub = bits.chunks(per).enumerate().filter(|(k, _)| k % ch == last);
                    sub.flat_map(|(_, b)| b.to_vec()).collect()
                };
                let mut s = e.session_with(arith, w, h).only(last);
                let mut got = Vec::new();
                for (k, &v) in px.iter().enumerate() {
                    let mut b = Vec::new();
                    fingerprint(s.next_dist(), &mut b);
                    if k % ch == 0 && k > 0 && matches!(cfg.head, Head::Softmax) {
                        assert_eq!(b, got[got.len() - per..], "config {i}: channel 0 not computed");
                    }
                    got.extend(b);
                    s.push(v);
                }
                let what = format!("config {i}, {arith:?}");
                if matches!(cfg.head, Head::Softmax) {
                    assert!(wanted(&got) == wanted(&full), "{what}: session");
                } else {
                    assert!(got == full, "{what}: the mixture head computes every channel");
                }
                for (sub, threads) in [(1, 1), (3, 1), (4, 2), (3, 2)] {
                    let rows = e.rows_with(arith, w, h, sub).unwrap().only(last);
                    let got = grouped_bits_in(&rows, ch, &px, (w, h, sub), threads, 0);
                    assert!(
                        wanted(&got) == wanted(&full),
                        "{what}: {sub} substreams, {threads} threads"
                    );
                }
            }
        }
    }
}

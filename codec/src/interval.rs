//! [`quantize`](crate::quantize::quantize)'s rule without its serial loops: the frequencies, their
//! total and the first largest in simple passes that the compiler vectorises (compiled for
//! AVX2 and AVX-512 as well, picked at run time), so that an encoder can take one value's
//! interval without building the table, and a table is built with one running sum. Every path
//! gives `quantize`'s bits (tested against its plain loops).

use crate::quantize::TOTAL;
#[cfg(target_arch = "x86_64")]
use pixelrnn_model::Isa;

/// Levels per chunk of the search for the first largest.
const L: usize = 16;

/// The frequency of probability `p` before the fix-up: `1 + ⌊clamp(p, 0, 1) · free⌋`.
#[inline(always)]
pub(crate) fn freq(p: f32, free: f32) -> u32 {
    // Two selects (NaN and p ≤ 0 give 0, p ≥ 1 gives 1), which vectorise.
    let p = if p > 0.0 { p } else { 0.0 };
    let p = if p < 1.0 { p } else { 1.0 };
    // p · free lies in [0, 2^24), so the conversion needs no saturation (which would not
    // vectorise) and truncates as `as` does.
    debug_assert!((0.0..16_777_216.0).contains(&(p * free)));
    // SAFETY: 0 ≤ p ≤ 1 and 0 < free < 2^24, so p · free is finite and in i32's range.
    1 + unsafe { (p * free).to_int_unchecked::<i32>() } as u32
}

/// What the fix-up needs: the total of the frequencies (wrapping, as the table's sums), the
/// total of those below `v`, and the first largest frequency with its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stats {
    pub sum: u32,
    pub below: u32,
    pub best_f: u32,
    pub best: usize,
}

/// Frequencies of `probs` into `f`, then their total, the total below `v` and the first largest:
/// simple passes, each of which vectorises.
#[inline(always)]
fn stats_body(probs: &[f32], v: usize, f: &mut [u32]) -> Stats {
    let free = (TOTAL - probs.len() as u32) as f32;
    let f = &mut f[..probs.len()];
    for (f, &p) in f.iter_mut().zip(probs) {
        *f = freq(p, free);
    }
    let total = |f: &[u32]| f.iter().fold(0u32, |a, &b| a.wrapping_add(b));
    let below = total(&f[..v.min(f.len())]);
    let sum = below.wrapping_add(total(&f[v.min(f.len())..]));
    let best_f = f.iter().fold(0u32, |a, &b| a.max(b));
    // The first largest: the first chunk holding it, then the place in it.
    let mut best = 0;
    for (j, ch) in f.chunks(L).enumerate() {
        if ch.iter().fold(false, |a, &b| a | (b == best_f)) {
            best = j * L + ch.iter().position(|&b| b == best_f).unwrap_or(0);
            break;
        }
    }
    Stats {
        sum,
        below,
        best_f,
        best,
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn stats_avx2(probs: &[f32], v: usize, out: &mut [u32]) -> Stats {
    stats_body(probs, v, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn stats_avx512(probs: &[f32], v: usize, out: &mut [u32]) -> Stats {
    stats_body(probs, v, out)
}

/// [`Stats`] of `probs` for value `v`, with every frequency written to `out` (at least as long
/// as `probs`).
pub(crate) fn stats(probs: &[f32], v: usize, out: &mut [u32]) -> Stats {
    #[cfg(target_arch = "x86_64")]
    match Isa::detect() {
        // SAFETY: `detect` only names paths this CPU has (AVX2; AVX-512F, and BW is checked).
        Isa::Avx512 if std::is_x86_feature_detected!("avx512bw") => return unsafe { stats_avx512(probs, v, out) },
        Isa::Avx2 | Isa::Avx512 => return unsafe { stats_avx2(probs, v, out) },
        _ => {}
    }
    stats_body(probs, v, out)
}

/// The fix-up of the first largest frequency: its new value, or None when the total cannot be
/// reached that way (probabilities far from summing to 1), where the table is uniform.
#[inline]
pub(crate) fn fixed(s: &Stats) -> Option<u32> {
    let fixed = s.best_f as i64 + TOTAL as i64 - s.sum as i64;
    (fixed >= 1).then_some(fixed as u32)
}

/// The uniform table's entry F(i) for `n` levels.
#[inline]
pub(crate) fn uniform_cum(n: usize, i: usize) -> u32 {
    let base = TOTAL / n as u32;
    let extra = TOTAL - base * n as u32;
    base * i as u32 + (i as u32).min(extra)
}

/// (F(v), F(v + 1) − F(v)) of the table [`quantize`](crate::quantize::quantize) builds from
/// `probs`, without building it.
pub fn interval(probs: &[f32], v: usize) -> (u32, u32) {
    let n = probs.len();
    assert!(v < n, "value {v} out of {n} levels");
    let mut buf = [0u32; 256];
    let mut long = Vec::new();
    let f = if n <= buf.len() {
        &mut buf[..]
    } else {
        long.resize(n, 0);
        &mut long[..]
    };
    let s = stats(probs, v, f);
    match fixed(&s) {
        None => {
            let left = uniform_cum(n, v);
            (left, uniform_cum(n, v + 1) - left)
        }
        Some(fix) => {
            let left = if s.best < v {
                s.below.wrapping_add(fix.wrapping_sub(s.best_f))
            } else {
                s.below
            };
            let f = if v == s.best {
                fix
            } else {
                freq(probs[v], (TOTAL - n as u32) as f32)
            };
            (left, f)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantize::quantize;
    use pixelrnn_model::rng::SplitMix64;

    /// The rule as `FORMAT.md` states it, in plain serial loops (format versions 1–3).
    fn reference(probs: &[f32]) -> Vec<u32> {
        let n = probs.len();
        let free = (TOTAL - n as u32) as f32;
        let mut cdf = vec![0u32; n + 1];
        for (c, &p) in cdf[1..].iter_mut().zip(probs) {
            let p = if p > 0.0 { p.min(1.0) } else { 0.0 };
            *c = 1 + (p * free) as u32;
        }
        let sum = cdf[1..].iter().fold(0u32, |a, &b| a.wrapping_add(b));
        let best_f = *cdf[1..].iter().max().unwrap();
        let best = cdf[1..].iter().position(|&f| f == best_f).unwrap();
        let fixed = best_f as i64 + TOTAL as i64 - sum as i64;
        if fixed < 1 {
            let base = TOTAL / n as u32;
            for (i, c) in cdf.iter_mut().enumerate().skip(1) {
                *c = base + u32::from(((i - 1) as u32) < TOTAL - base * n as u32);
            }
        } else {
            cdf[best + 1] = fixed as u32;
        }
        for i in 1..=n {
            cdf[i] = cdf[i].wrapping_add(cdf[i - 1]);
        }
        cdf
    }

    fn cases() -> Vec<Vec<f32>> {
        let mut rng = SplitMix64::new(5);
        let mut v = Vec::new();
        for n in [2usize, 3, 15, 16, 17, 31, 255, 256, 1000] {
            v.push(vec![1.0 / n as f32; n]);
            v.push((0..n).map(|i| if i == n / 2 { 1.0 } else { 0.0 }).collect());
            v.push((0..n).map(|i| if i == n - 1 { 1.0 } else { 1e-30 }).collect());
            v.push(vec![0.0; n]);
            v.push(vec![1.0; n]);
            v.push(vec![f32::NAN; n]);
            v.push((0..n).map(|i| if i % 7 == 3 { f32::INFINITY } else { -0.0 }).collect());
            for k in 0..40 {
                let raw: Vec<f32> = (0..n).map(|_| rng.next_f32().powi(1 + k % 9)).collect();
                let s: f32 = raw.iter().sum();
                v.push(raw.iter().map(|x| x / s).collect());
            }
            // Ties for the largest at several places.
            let mut t = vec![0.5 / n as f32; n];
            for i in [n / 3, n / 2, n - 1] {
                t[i] = 0.25;
            }
            v.push(t);
        }
        v
    }

    #[test]
    fn quantize_keeps_the_rule() {
        let mut cdf = Vec::new();
        for p in cases() {
            quantize(&p, &mut cdf);
            assert_eq!(cdf, reference(&p), "n = {}", p.len());
        }
    }

    #[test]
    fn intervals_are_the_tables() {
        for p in cases() {
            let want = reference(&p);
            for v in 0..p.len() {
                assert_eq!(
                    interval(&p, v),
                    (want[v], want[v + 1] - want[v]),
                    "n = {} v = {v}",
                    p.len()
                );
            }
        }
    }

    #[test]
    fn every_path_gives_the_same_stats() {
        type Path = fn(&[f32], usize, &mut [u32]) -> Stats;
        // Only x86-64 adds paths (elsewhere `mut` would warn).
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut paths: Vec<(&str, Path)> = vec![("portable", stats_body)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                paths.push(("avx2", |p, v, o| unsafe { stats_avx2(p, v, o) }));
            }
            if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw") {
                paths.push(("avx512", |p, v, o| unsafe { stats_avx512(p, v, o) }));
            }
        }
        for p in cases() {
            for v in [0, p.len() / 2, p.len() - 1] {
                let mut f0 = vec![0; p.len()];
                let want = stats_body(&p, v, &mut f0);
                for (name, path) in &paths {
                    let mut f = vec![7; p.len() + 3];
                    assert_eq!(path(&p, v, &mut f), want, "{name}");
                    assert_eq!(f[..p.len()], f0, "{name}");
                }
            }
        }
    }
}

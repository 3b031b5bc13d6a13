//! Format version 5's geometric stage (`FORMAT.md`, "Version 5"): after version 4's linear
//! mixture, the four sources (the model, the two logistic experts, the counts) are also mixed
//! geometrically — a product of their probabilities raised to weights learnt online by gradient
//! steps on the code length, per (channel, model spread) — and the coded distribution is a
//! learnt blend of that product with the linear mixture. The product sharpens where the sources
//! agree, which the linear mixture cannot. Logarithms and exponentials are this module's own,
//! built from IEEE 754 `+ − × ÷` and bit manipulation (no libm), so every machine computes the
//! same bits.

use std::sync::OnceLock;

use crate::kernels5::{self, Window};
use crate::laplace::Shapes;

/// Sources of the product: the model, the two logistic experts, the counts.
pub(crate) const SOURCES: usize = 4;
/// Starting weights of the product, and of the product against the linear mixture.
const G0: [f64; SOURCES] = [0.6, 0.2, 0.2, 0.1];
const ALPHA0: f64 = 0.5;
/// Learning rates of the product's weights and of the blend, and the weights' range.
const RATE: f64 = 0.002;
const ALPHA_RATE: f64 = 0.02;
const G_MIN: f64 = -1.0;
const G_MAX: f64 = 3.0;
/// The product covers the window: the levels from the first to the last whose linear
/// probability is at least 2⁻¹⁰ of the largest. It takes the linear mixture's mass there;
/// elsewhere the linear mixture stands.
const WINDOW: f32 = 1.0 / 1024.0;
pub(crate) const LN2: f64 = std::f64::consts::LN_2;
pub(crate) const LOG2E: f64 = std::f64::consts::LOG2_E;
/// Mantissa bits that index the logarithm's table.
pub(crate) const LN_BITS: u32 = 8;

/// ln c for c = 1 + i/2⁸ and 1/c, i < 2⁸, with the series 2·atanh((c − 1)/(c + 1)); and
/// 2^(j/32), j < 32, as e^(j ln2/32) by its Taylor series.
pub(crate) struct Tables {
    ln: [f64; 1 << LN_BITS],
    inv: [f64; 1 << LN_BITS],
    pow2: [f64; EXP_STEPS],
}

/// Steps of the exponential's table per octave.
pub(crate) const EXP_STEPS: usize = 32;

impl Tables {
    pub(crate) fn get() -> &'static Tables {
        static T: OnceLock<Tables> = OnceLock::new();
        T.get_or_init(|| {
            let mut t = Tables {
                ln: [0.0; 1 << LN_BITS],
                inv: [0.0; 1 << LN_BITS],
                pow2: [0.0; EXP_STEPS],
            };
            for i in 0..1usize << LN_BITS {
                let c = 1.0 + i as f64 / (1u32 << LN_BITS) as f64;
                let z = (c - 1.0) / (c + 1.0);
                let (z2, mut p, mut s) = (z * z, z, 0.0);
                for k in 0..24 {
                    s += p / (2 * k + 1) as f64;
                    p *= z2;
                }
                t.ln[i] = 2.0 * s;
                t.inv[i] = 1.0 / c;
            }
            for (j, v) in t.pow2.iter_mut().enumerate() {
                let r = j as f64 * LN2 / EXP_STEPS as f64;
                let (mut term, mut s) = (1.0, 1.0);
                for k in 1..=20 {
                    term = term * r / k as f64;
                    s += term;
                }
                *v = s;
            }
            t
        })
    }

    /// The logarithm's tables: ln c and 1/c.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn ln_tables(&self) -> (&[f64], &[f64]) {
        (&self.ln, &self.inv)
    }

    /// The exponential's table: 2^(j/32).
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn pow2_table(&self) -> &[f64] {
        &self.pow2
    }

    /// ln x of a positive normal f32: the exponent times ln 2, the table's ln c for the
    /// mantissa's top 8 bits, and ln(1 + r) ≈ r − r²/2 + r³/3 − r⁴/4 for r = (m − c)/c,
    /// |r| < 2⁻⁸ (error below 1e-12).
    #[inline]
    pub(crate) fn ln(&self, x: f32) -> f64 {
        let bits = x.to_bits();
        let e = ((bits >> 23) & 0xff) as i32 - 127;
        let frac = bits & 0x7f_ffff;
        let i = (frac >> (23 - LN_BITS)) as usize;
        let m = 1.0 + frac as f64 * (1.0 / (1u32 << 23) as f64);
        let c = 1.0 + i as f64 * (1.0 / (1u32 << LN_BITS) as f64);
        let r = (m - c) * self.inv[i];
        let poly = r * (1.0 - r * (0.5 - r * (1.0 / 3.0 - r * 0.25)));
        (e as f64 * LN2 + self.ln[i]) + poly
    }

    /// e^x for x ≤ 0: 0 below −700; else with t = x · 32 log₂e, n = ⌊t⌋ (by truncation),
    /// n = 32a + j (0 ≤ j < 32) and r = x − n · ln2/32 ∈ [0, ln2/32): 2^a · 2^(j/32) · e^r, e^r by
    /// its Taylor series to r⁶ (Horner; error below 1e-15), 2^a built from its bits.
    #[inline]
    pub(crate) fn exp(&self, x: f64) -> f64 {
        if x.is_nan() || x < -700.0 {
            return 0.0;
        }
        let t = x * (LOG2E * EXP_STEPS as f64);
        let mut n = t as i64;
        if n as f64 > t {
            n -= 1;
        }
        let r = x - n as f64 * (LN2 / EXP_STEPS as f64);
        let p =
            1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
        let (a, j) = (n.div_euclid(EXP_STEPS as i64), n.rem_euclid(EXP_STEPS as i64) as usize);
        p * self.pow2[j] * f64::from_bits(((a + 1023) as u64) << 52)
    }
}

/// [`Tables::ln`].
pub(crate) fn ln(x: f32) -> f64 {
    Tables::get().ln(x)
}

/// [`Tables::exp`].
pub(crate) fn exp(x: f64) -> f64 {
    Tables::get().exp(x)
}

/// The logarithms of every logistic expert's table ([`Shapes`]), entry for entry, and of the
/// counts an expert can hold.
struct LnShapes {
    tab: Vec<f32>,
    counts: Vec<f64>,
}

impl LnShapes {
    fn get() -> &'static LnShapes {
        static T: OnceLock<LnShapes> = OnceLock::new();
        T.get_or_init(|| LnShapes {
            tab: Shapes::get().table().iter().map(|&p| ln(p) as f32).collect(),
            counts: (0..=crate::adapt::COUNT_MAX).map(|k| ln(k.max(1) as f32)).collect(),
        })
    }

    /// ln of [`Shapes::row`] (scale j, offset f).
    fn row(&self, j: usize, f: usize) -> &[f32] {
        &self.tab[Shapes::row_range(j, f)]
    }
}

/// The largest of `p` (0 if empty or all below), eight lanes at a time.
fn top(p: &[f32]) -> f32 {
    let mut m = [0f32; 8];
    let chunks = p.chunks_exact(8);
    for &x in chunks.remainder() {
        m[0] = if x > m[0] { x } else { m[0] };
    }
    for c in chunks {
        for i in 0..8 {
            m[i] = if c[i] > m[i] { c[i] } else { m[i] };
        }
    }
    m.iter().fold(0.0, |a, &b| if b > a { b } else { a })
}

/// The first and one past the last index of `p` whose value is at least `floor` ((0, len) if
/// none is), eight values at a time.
fn window(p: &[f32], floor: f32) -> (usize, usize) {
    let at = |x: f32| x >= floor;
    let hit = |c: &[f32]| c.iter().fold(false, |a, &x| a | at(x));
    let n = p.len();
    let mut lo = 0;
    while lo + 8 <= n && !hit(&p[lo..lo + 8]) {
        lo += 8;
    }
    while lo < n && !at(p[lo]) {
        lo += 1;
    }
    if lo == n {
        return (0, n);
    }
    let mut hi = n;
    while hi >= lo + 8 && !hit(&p[hi - 8..hi]) {
        hi -= 8;
    }
    while !at(p[hi - 1]) {
        hi -= 1;
    }
    (lo, hi)
}

/// The sources of one sub-pixel for [`Geo::mix`]: the model's probabilities (level v's at
/// index v), the logistic experts' table rows (scales, centre offset, and the row index of
/// level 0, as in [`Shapes::row`]), the counts expert's counts (level v's at (v − `hp`) mod
/// levels).
pub(crate) struct Inputs<'a> {
    pub probs: &'a [f32],
    pub scales: [usize; 2],
    pub frac: usize,
    pub first: usize,
    pub counts: &'a [u32],
    pub hp: usize,
}

/// One substream's geometric stage.
pub(crate) struct Geo {
    tables: &'static Tables,
    ln: &'static LnShapes,
    /// Per (channel, spread): the product's weights and the blend α (the product's share).
    weights: Vec<([f64; SOURCES], f64)>,
    ctx: usize,
    /// The window's first level, and per level in it: each source's log, the product.
    lo: usize,
    lns: [Vec<f64>; SOURCES],
    q: Vec<f64>,
    /// The linear mixture (every level), and its mass inside the window.
    lin: Vec<f32>,
    mass: f64,
}

impl Geo {
    pub(crate) fn new(contexts: usize, levels: usize) -> Geo {
        Geo {
            tables: Tables::get(),
            ln: LnShapes::get(),
            weights: vec![(G0, ALPHA0); contexts],
            ctx: 0,
            lo: 0,
            lns: std::array::from_fn(|_| Vec::with_capacity(levels)),
            q: Vec::with_capacity(levels),
            lin: vec![0.0; levels],
            mass: 1.0,
        }
    }

    /// Blends the product of `src` into the linear mixture `out` (over the window), in context
    /// `ctx`.
    pub(crate) fn mix(&mut self, ctx: usize, src: Inputs<'_>, out: &mut [f32]) {
        let l = out.len();
        self.ctx = ctx;
        self.lin.copy_from_slice(out);
        let floor = top(out) * WINDOW;
        let (lo, hi) = window(out, floor);
        self.lo = lo;
        let (g, alpha) = self.weights[ctx];
        let (t, ln) = (self.tables, self.ln);
        let n = hi - lo;
        for l in &mut self.lns {
            l.resize(n, 0.0);
        }
        self.q.resize(n, 0.0);
        // Level v's count is at (v − hp) mod l.
        let mut h = (lo + l - src.hp) % l;
        for s3 in &mut self.lns[3] {
            *s3 = ln.counts[src.counts[h] as usize];
            h += 1;
            if h == l {
                h = 0;
            }
        }
        let window = Window {
            probs: &src.probs[lo..hi],
            rows: src.scales.map(|j| &ln.row(j, src.frac)[src.first + lo..src.first + hi]),
            lns: &mut self.lns,
            a: &mut self.q,
        };
        let best = kernels5::logs(t, g, window);
        kernels5::exps(t, &mut self.q, best);
        let mut z = 0.0;
        for &q in &self.q {
            z += q;
        }
        // The product takes the linear mixture's mass inside the window.
        let mut mass = 0.0;
        for &p in &out[lo..hi] {
            mass += p as f64;
        }
        self.mass = mass;
        let scale = mass / z;
        for ((q, o), &p) in self.q.iter_mut().zip(&mut out[lo..hi]).zip(&self.lin[lo..hi]) {
            *q *= scale;
            *o = (alpha * *q + (1.0 - alpha) * p as f64) as f32;
        }
    }

    /// The coded distribution's probability of `v` (what [`Geo::mix`] last gave, before f32
    /// rounding), then, inside the window, the gradient steps of the weights and the blend.
    pub(crate) fn update(&mut self, v: usize) -> f64 {
        let lin = self.lin[v] as f64;
        let at = v.wrapping_sub(self.lo);
        if at >= self.q.len() {
            return lin;
        }
        let (mut g, alpha) = self.weights[self.ctx];
        let q = self.q[at];
        let fin = alpha * q + (1.0 - alpha) * lin;
        if fin <= 0.0 {
            return fin;
        }
        // d ln fin / d gⱼ = (α q / fin) · (ln sⱼ(v) − E[ln sⱼ]), E under the product
        // normalised over the window.
        let step = RATE * (alpha * q / fin);
        for (gj, lns) in g.iter_mut().zip(&self.lns) {
            let mut mean = 0.0;
            for (p, s) in self.q.iter().zip(lns) {
                mean += p * s;
            }
            let d = lns[at] - mean / self.mass;
            *gj = (*gj + step * d).clamp(G_MIN, G_MAX);
        }
        let alpha = (alpha + ALPHA_RATE * ((q - lin) / fin)).clamp(0.0, 1.0);
        self.weights[self.ctx] = (g, alpha);
        fin
    }
}

#[cfg(test)]
#[path = "geo5_tests.rs"]
mod tests;

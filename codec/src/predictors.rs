//! Format version 4's simple predictors: from a channel's neighbours (edges replicated), and
//! from the earlier channels' change at the same pixel; in quarters of a level. The blend of
//! [`crate::field`] weights them.

/// Predictors (the first [`SAME`] use the channel's own neighbours only).
pub(crate) const SUBS: usize = 18;
/// Predictors that need one earlier channel.
const CROSS: usize = 14;
/// Predictors that need no earlier channel.
const SAME: usize = 9;
/// Predictions are in quarters of a level.
pub(crate) const UNIT: i32 = 4;

/// Predictors in use for channel c.
pub(crate) fn count_of(c: usize) -> usize {
    match c {
        0 => SAME,
        1 => CROSS,
        _ => SUBS,
    }
}

/// A channel's neighbours of a pixel, edges replicated (W for a missing N, N for a missing W).
#[derive(Clone, Copy)]
pub(crate) struct Nb {
    pub w: i32,
    pub n: i32,
    pub nw: i32,
    pub ne: i32,
    pub ww: i32,
    pub nn: i32,
    pub nne: i32,
}

/// A W×C raster's geometry and its top value (quarters).
#[derive(Clone, Copy)]
pub(crate) struct Predictors {
    pub width: usize,
    pub ch: usize,
    pub top: i32,
}

impl Predictors {
    /// The neighbours of (y, x) in channel c; `get` reads the raster by index.
    pub(crate) fn nb(&self, get: &dyn Fn(usize) -> u8, y: usize, x: usize, c: usize) -> Nb {
        let (w_, ch) = (self.width, self.ch);
        let g = |yy: usize, xx: usize| get((yy * w_ + xx) * ch + c) as i32;
        if y == 0 {
            let w = if x > 0 { g(0, x - 1) } else { 0 };
            let ww = if x > 1 { g(0, x - 2) } else { w };
            return Nb {
                w,
                n: w,
                nw: w,
                ne: w,
                ww,
                nn: w,
                nne: w,
            };
        }
        let n = g(y - 1, x);
        let nw = if x > 0 { g(y - 1, x - 1) } else { n };
        let ne = if x + 1 < w_ { g(y - 1, x + 1) } else { n };
        let w = if x > 0 { g(y, x - 1) } else { n };
        let ww = if x > 1 { g(y, x - 2) } else { w };
        let nn = if y > 1 { g(y - 2, x) } else { n };
        let nne = if y > 1 && x + 1 < w_ { g(y - 2, x + 1) } else { ne };
        Nb {
            w,
            n,
            nw,
            ne,
            ww,
            nn,
            nne,
        }
    }

    /// Predictions of (y, x) from its neighbours `a`, each moved by an earlier channel e's change
    /// at the pixel: W, N, the gradient W + N − NW, NE, and the mean of W and N.
    fn moved_by(&self, get: &dyn Fn(usize) -> u8, (y, x, e): (usize, usize, usize), a: &Nb) -> [i32; 5] {
        let u = self.nb(get, y, x, e);
        let u0 = get((y * self.width + x) * self.ch + e) as i32;
        let grad = a.w + a.n - a.nw;
        [
            4 * (a.w + u0 - u.w),
            4 * (a.n + u0 - u.n),
            4 * (grad + u0 - (u.w + u.n - u.nw)),
            4 * (a.ne + u0 - u.ne),
            2 * (a.w + a.n) + 4 * u0 - 2 * (u.w + u.n),
        ]
    }

    /// Every predictor's prediction of (y, x, c) in quarters, clamped to the levels (the first
    /// `count` are meaningful), and the channel's neighbours.
    pub(crate) fn all(&self, get: &dyn Fn(usize) -> u8, y: usize, x: usize, c: usize) -> ([i32; SUBS], usize, Nb) {
        let a = self.nb(get, y, x, c);
        let (w, n, nw, ne) = (a.w, a.n, a.nw, a.ne);
        let med = if nw >= w.max(n) {
            w.min(n)
        } else if nw <= w.min(n) {
            w.max(n)
        } else {
            w + n - nw
        };
        let grad = w + n - nw;
        let mut p = [0i32; SUBS];
        p[0] = 4 * w;
        p[1] = 4 * n;
        p[2] = 4 * grad;
        p[3] = 4 * (w + ne - n);
        p[4] = 2 * (w + n);
        p[5] = 2 * (w + ne);
        p[6] = 4 * (n + ne - a.nne);
        p[7] = 4 * med;
        p[8] = 2 * (w + ne) + (n - a.nn) * 2 + (w - a.ww);
        let count = count_of(c);
        if c > 0 {
            p[9..14].copy_from_slice(&self.moved_by(get, (y, x, c - 1), &a));
        }
        if c > 1 {
            let [w, n, grad, _, mean] = self.moved_by(get, (y, x, c - 2), &a);
            p[14..18].copy_from_slice(&[w, n, grad, mean]);
        }
        for q in &mut p[..count] {
            *q = (*q).clamp(0, self.top);
        }
        (p, count, a)
    }
}

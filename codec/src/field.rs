//! Format version 4's blended prediction, the part of its adaptive coding that depends on the
//! pixels alone: at every sub-pixel, the simple predictors of [`crate::predictors`] blended with
//! weights that fall with each predictor's error at the neighbours (as JPEG XL's weighted
//! predictor does). Being a function of the pixels, any substream's state can compute the rows
//! above it, which other substreams decoded; rows are computed lazily, three at a time (more
//! where a substream codes rows in step: format version 8's lanes).

use crate::predictors::{count_of, Predictors, SUBS, UNIT};

/// What the field keeps per sub-pixel.
#[derive(Clone, Copy, Default)]
struct Cell {
    /// Each predictor's prediction and absolute error, in quarters.
    p: [i32; SUBS],
    err: [u16; SUBS],
    /// The blended prediction (quarters) and its absolute error.
    blend: f64,
    berr: f64,
    /// The blend's signed error.
    bres: f64,
}

/// One row's cells, those with predictor errors (`subs`) and those blended too (`full`).
struct Row {
    y: usize,
    subs: usize,
    full: usize,
    cells: Vec<Cell>,
}

/// The blended prediction of a sub-pixel and the local error of the blend around it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prediction {
    /// Quarters of a level.
    pub blend: f64,
    /// A weighted sum of the blend's absolute errors at the neighbours (quarters).
    pub activity: f64,
    /// Which of W, N, NW, NE, NN, WW lie above the blend (bits 0–5), and whether the earlier
    /// channel's value lay above its blend (bit 6).
    pub texture: usize,
    /// Inputs of the learnt correction (quarters): W, N, NW and NE less the blend, the blend's
    /// errors at W and N, and at this pixel in the two earlier channels.
    pub feats: [f64; FEATS],
}

/// Inputs of the learnt correction.
pub(crate) const FEATS: usize = 16;

/// The pixels' predictions for one W×C raster, `ring` rows kept (row y in slot y mod ring).
pub(crate) struct Field {
    width: usize,
    ch: usize,
    preds: Predictors,
    rows: Vec<Row>,
    ring: usize,
    /// The predictions of the sub-pixel being coded (row, index in the row, predictions).
    pending: Option<(usize, usize, [i32; SUBS], usize)>,
}

impl Field {
    /// Keeping `ring` ≥ 3 rows: three for rows coded in raster order; rows in step need the
    /// span of their rows and two more (a different ring gives the same predictions, only
    /// computed again where a row's slot was taken).
    pub(crate) fn new(width: usize, channels: usize, levels: usize, ring: usize) -> Field {
        assert!(ring >= 3, "a ring of at least three rows");
        let row = || Row {
            y: usize::MAX,
            subs: 0,
            full: 0,
            cells: vec![Cell::default(); width * channels],
        };
        Field {
            width,
            ch: channels,
            preds: Predictors {
                width,
                ch: channels,
                top: (levels as i32 - 1) * UNIT,
            },
            rows: (0..ring).map(|_| row()).collect(),
            ring,
            pending: None,
        }
    }

    /// The row slot of row y, reset when it held another row.
    fn slot(&mut self, y: usize) -> usize {
        let s = y % self.ring;
        if self.rows[s].y != y {
            let r = &mut self.rows[s];
            (r.y, r.subs, r.full) = (y, 0, 0);
        }
        s
    }

    /// Row y's predictor errors for its first `n` cells.
    fn subs(&mut self, get: &dyn Fn(usize) -> u8, y: usize, n: usize) {
        let s = self.slot(y);
        let n = n.min(self.width * self.ch);
        for k in self.rows[s].subs..n {
            let (x, c) = (k / self.ch, k % self.ch);
            let (p, count) = match self.pending {
                Some((py, pk, p, count)) if (py, pk) == (y, k) => (p, count),
                _ => {
                    let (p, count, _) = self.preds.all(get, y, x, c);
                    (p, count)
                }
            };
            let v = UNIT * get(y * self.width * self.ch + k) as i32;
            let cell = &mut self.rows[s].cells[k];
            cell.p = p;
            for (e, &q) in cell.err.iter_mut().zip(&p[..count]) {
                *e = (v - q).unsigned_abs() as u16;
            }
        }
        let r = &mut self.rows[s];
        r.subs = r.subs.max(n);
    }

    /// The blend at (y, x, c): row y − 1 must have its predictor errors to x + 1 and row y to
    /// the cell before.
    fn blend(&self, (p, count): (&[i32; SUBS], usize), y: usize, x: usize, c: usize) -> f64 {
        let ch = self.ch;
        let cur = &self.rows[y % self.ring].cells;
        let mut near: [Option<&Cell>; 5] = [None; 5];
        if x > 0 {
            near[0] = Some(&cur[(x - 1) * ch + c]);
        }
        if x > 1 {
            near[1] = Some(&cur[(x - 2) * ch + c]);
        }
        if y > 0 {
            let up = &self.rows[(y - 1) % self.ring].cells;
            near[2] = Some(&up[x * ch + c]);
            if x > 0 {
                near[3] = Some(&up[(x - 1) * ch + c]);
            }
            if x + 1 < self.width {
                near[4] = Some(&up[(x + 1) * ch + c]);
            }
        }
        let mut err = [8u32; SUBS];
        for cell in near.iter().flatten() {
            for (e, &c) in err.iter_mut().zip(&cell.err) {
                *e += c as u32;
            }
        }
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..count {
            let e = err[i] as f64;
            let wgt = 1.0 / (e * e);
            num += wgt * p[i] as f64;
            den += wgt;
        }
        num / den
    }

    /// Row y's blends and blend errors for its first `n` cells.
    fn full(&mut self, get: &dyn Fn(usize) -> u8, y: usize, n: usize) {
        let n = n.min(self.width * self.ch);
        let s = self.slot(y);
        if self.rows[s].full >= n {
            return;
        }
        if y > 0 {
            let above = (n.div_ceil(self.ch) + 1) * self.ch;
            self.subs(get, y - 1, above);
        }
        self.subs(get, y, n);
        for k in self.rows[s].full..n {
            let (x, c) = (k / self.ch, k % self.ch);
            let cell = &self.rows[s].cells[k];
            let b = self.blend((&cell.p, count_of(c)), y, x, c);
            let v = (UNIT * get(y * self.width * self.ch + k) as i32) as f64;
            let cell = &mut self.rows[s].cells[k];
            cell.blend = b;
            cell.berr = (v - b).abs();
            cell.bres = v - b;
        }
        self.rows[s].full = n;
    }

    /// The prediction of (y, x, c), every sub-pixel before it in raster order being in `get`
    /// (and, in the rows above, up to column x + 1 of row y − 1, x + 2 of row y − 2, …).
    pub(crate) fn predict(&mut self, get: &dyn Fn(usize) -> u8, y: usize, x: usize, c: usize) -> Prediction {
        let ch = self.ch;
        if y > 0 {
            self.full(get, y - 1, (x + 2) * ch);
        }
        let k = x * ch + c;
        self.full(get, y, k);
        // The current cell's predictor errors are not known yet: only the cells before it
        // are read by its blend.
        let (p, count, a) = self.preds.all(get, y, x, c);
        let blend = self.blend((&p, count), y, x, c);
        self.pending = Some((y, k, p, count));
        let cur = &self.rows[y % self.ring].cells;
        let mut act = 0.0;
        if x > 0 {
            act += 2.0 * cur[k - ch].berr;
        }
        if x > 1 {
            act += cur[k - 2 * ch].berr;
        }
        if c > 0 {
            act += 2.0 * cur[k - 1].berr;
        }
        if y > 0 {
            let up = &self.rows[(y - 1) % self.ring].cells;
            act += 2.0 * up[k].berr;
            if x > 0 {
                act += up[k - ch].berr;
            }
            if x + 1 < self.width {
                act += up[k + ch].berr;
            }
        }
        let mut texture = 0;
        for (bit, v) in [a.w, a.n, a.nw, a.ne, a.nn, a.ww].into_iter().enumerate() {
            texture |= (((UNIT * v) as f64 > blend) as usize) << bit;
        }
        if c > 0 && cur[k - 1].bres > 0.0 {
            texture |= 64;
        }
        let mut feats = [0.0; FEATS];
        for (i, v) in [a.w, a.n, a.nw, a.ne].into_iter().enumerate() {
            feats[i] = (UNIT * v) as f64 - blend;
        }
        if x > 0 {
            feats[4] = cur[k - ch].bres;
        }
        if y > 0 {
            feats[5] = self.rows[(y - 1) % self.ring].cells[k].bres;
        }
        if c > 0 {
            feats[6] = cur[k - 1].bres;
        }
        if c > 1 {
            feats[7] = cur[k - 2].bres;
        }
        feats[12] = (UNIT * a.nne) as f64 - blend;
        if x > 1 {
            feats[15] = cur[k - 2 * ch].bres;
        }
        if c > 0 {
            let u = self.preds.nb(get, y, x, c - 1);
            let u0 = get((y * self.width + x) * ch + c - 1) as i32;
            feats[13] = (UNIT * (u0 - u.w)) as f64;
            feats[14] = (UNIT * (u0 - u.n)) as f64;
        }
        feats[8] = (UNIT * a.nn) as f64 - blend;
        feats[9] = (UNIT * a.ww) as f64 - blend;
        if y > 0 {
            let up = &self.rows[(y - 1) % self.ring].cells;
            if x > 0 {
                feats[10] = up[k - ch].bres;
            }
            if x + 1 < self.width {
                feats[11] = up[k + ch].bres;
            }
        }
        Prediction {
            blend,
            activity: act,
            texture,
            feats,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn image(w: usize, h: usize, ch: usize) -> Vec<u8> {
        let mut s = 0x2545_f491u32;
        (0..w * h * ch)
            .map(|i| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let (x, y) = ((i / ch) % w, i / ch / w);
                ((x * 9 + y * 5 + (i % ch) * 40) as u32 + (s >> 28)) as u8
            })
            .collect()
    }

    fn key(p: &Prediction) -> Vec<u64> {
        let mut k = vec![p.blend.to_bits(), p.activity.to_bits(), p.texture as u64];
        k.extend(p.feats.iter().map(|f| f.to_bits()));
        k
    }

    /// A state that codes only every third row computes the rows above from the pixels and
    /// predicts exactly what a state that saw every row predicts; and no prediction reads a
    /// sub-pixel at or after the one being predicted.
    #[test]
    fn predictions_depend_on_the_pixels_alone_and_are_causal() {
        for (w, h, ch) in [(13, 11, 3), (1, 6, 1), (2, 5, 4), (7, 4, 2)] {
            let img = image(w, h, ch);
            let limit = Cell::new(0usize);
            let get = |j: usize| {
                assert!(j < limit.get(), "read {j} while predicting {}", limit.get());
                img[j]
            };
            let (mut all, mut third) = (Field::new(w, ch, 256, 3), Field::new(w, ch, 256, 3));
            for y in 0..h {
                for x in 0..w {
                    for c in 0..ch {
                        limit.set((y * w + x) * ch + c);
                        let a = all.predict(&get, y, x, c);
                        assert!(a.blend >= 0.0 && a.blend <= 255.0 * UNIT as f64);
                        if y % 3 == 1 {
                            let b = third.predict(&get, y, x, c);
                            assert_eq!(key(&a), key(&b), "{w}×{h}×{ch} at ({y}, {x}, {c})");
                        }
                    }
                }
            }
        }
    }

    /// Rows predicted in step (format version 8's lanes: three rows of every second row, each
    /// a few columns behind the one before, channels interleaved across them) with a ring that
    /// holds them get the raster order's predictions; a ring of three gets them too, computing
    /// rows again where their slots were taken.
    #[test]
    fn rows_in_step_predict_as_raster_order_does() {
        let (w, h, ch) = (9, 14, 3);
        let img = image(w, h, ch);
        let get = |j: usize| img[j];
        let mut raster = Field::new(w, ch, 256, 3);
        let mut want = std::collections::HashMap::new();
        for y in 0..h {
            for x in 0..w {
                for c in 0..ch {
                    want.insert((y, x, c), key(&raster.predict(&get, y, x, c)));
                }
            }
        }
        for ring in [3, 7] {
            let mut f = Field::new(w, ch, 256, ring);
            let spread = crate::lanes::Spread {
                substreams: 2,
                lanes: 3,
                delay: 3,
            };
            for start in (0..h).step_by(6) {
                crate::lanes::order(spread, (w, h, ch), start, 1, |y, x, c| {
                    assert_eq!(
                        key(&f.predict(&get, y, x, c)),
                        want[&(y, x, c)],
                        "ring {ring} ({y}, {x}, {c})"
                    );
                    Ok(())
                })
                .unwrap();
            }
        }
    }

    /// On a ramp the exact predictors take over the blend away from the edges: the blend is
    /// within a quarter of a level.
    #[test]
    fn a_ramp_is_predicted_within_a_quarter_level() {
        let (w, h) = (12, 8);
        let img: Vec<u8> = (0..w * h).map(|i| (3 * (i % w) + 2 * (i / w)) as u8).collect();
        let get = |j: usize| img[j];
        let mut f = Field::new(w, 1, 256, 3);
        for y in 0..h {
            for x in 0..w {
                let p = f.predict(&get, y, x, 0);
                if y >= 3 && (3..w - 1).contains(&x) {
                    let want = (UNIT * img[y * w + x] as i32) as f64;
                    assert!((p.blend - want).abs() < 1.0, "({y}, {x}): {} for {want}", p.blend);
                }
            }
        }
    }
}

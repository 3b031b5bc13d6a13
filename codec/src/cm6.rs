//! Format version 6's context model (coding mode 2, "context"): for each sub-pixel, a mixture of
//! sparse counts in hashed contexts of the neighbouring colours, counts of the channel given the
//! pixel's earlier channels, two logistic experts around MED predictions and a uniform floor,
//! with mixing weights learnt online. Needs no network: it is what screenshots, diagrams and
//! pixel art are coded with. Every operation is IEEE 754 `+ − × ÷` on f64 in a fixed order
//! (`FORMAT.md`, "Version 6"), so encoder and decoder agree bit for bit.

use crate::adapt4::bucket;
use crate::experts3::med;
use crate::hashed::{mix64, table_bits, Slot, Table, STATES};
use crate::kernels6;
use crate::laplace::{Shapes, MID};
use crate::mixers6::{agreement, Mixers, ACT, MIX_ACT};

/// Hashed contexts with up to [`SMALL_CAP`] values each, then those with [`WIDE_CAP`].
pub(crate) const SMALL: usize = 6;
pub(crate) const WIDE: usize = 2;
const SMALL_CAP: usize = 6;
const WIDE_CAP: usize = 16;
/// Sources: the hashed contexts, the order-0 counts, two logistic experts, uniform.
const SOURCES: usize = SMALL + WIDE + 4;
const ORDER0: usize = SMALL + WIDE;
const LOG1: usize = ORDER0 + 1;
const LOG2: usize = ORDER0 + 2;
const UNIFORM: usize = ORDER0 + 3;
/// Rows of order-0 counts per channel (the earlier channels' values hashed).
const ORDER0_ROWS: usize = 4096;
/// Order-0 counts are halved when their row's total passes this.
const ORDER0_LIMIT: u32 = 60000;
/// Colour key of a neighbour outside the image.
const OUTSIDE: u64 = 1 << 40;

/// What `predict` worked out for the sub-pixel it was asked about, kept for `update`.
#[derive(Default)]
struct Cur {
    small: [(usize, u32); SMALL],
    wide: [(usize, u32); WIDE],
    row0: usize,
    c: usize,
    act: usize,
    /// The four mixers' contexts.
    mix: [usize; 4],
    preds: [i32; 2],
    /// P_i(v) = scale_i · count_i(v) (or shape_i(v)) for each source (0 where absent: uniform).
    scale: [f64; SOURCES],
    /// Logistic rows: scale index and the first entry's index.
    rows: [(usize, usize); 2],
}

/// The state of version 6's context model over one image.
pub(crate) struct ContextModel {
    width: usize,
    ch: usize,
    levels: usize,
    small: Table<SMALL_CAP>,
    wide: Table<WIDE_CAP>,
    /// [channel][row][level] counts and [channel][row] totals.
    order0: Vec<u16>,
    order0_total: Vec<u32>,
    mixers: Mixers<SOURCES>,
    /// [channel][activity][expert] running (sum, count) of absolute errors.
    mae: Vec<(f64, f64)>,
    shapes: &'static Shapes,
    /// The current pixel's neighbour colour keys: W, N, NW, NE, WW, NN, NNW, NNE, NWW.
    colours: [u64; 9],
    /// The pixel (x, y) whose neighbours `colours` holds (rows in step interleave pixels).
    colours_at: (usize, usize),
    acc: Vec<f64>,
    cur: Cur,
}

impl ContextModel {
    /// For a W×H image of `ch` channels at `levels` levels (≤ 256).
    pub(crate) fn new(width: usize, height: usize, ch: usize, levels: usize) -> Self {
        Self::sharing(width, height, ch, levels, 0)
    }

    /// [`ContextModel::new`] for `height` rows, with tables of at most 2^−`share` of the usual
    /// largest size (version 7: substreams share version 6's memory).
    pub(crate) fn sharing(width: usize, height: usize, ch: usize, levels: usize, share: u32) -> Self {
        let n = (width * height * ch) as u64;
        ContextModel {
            width,
            ch,
            levels,
            small: Table::new(table_bits(n * SMALL as u64, 22 - share)),
            wide: Table::new(table_bits(n * WIDE as u64, 18 - share)),
            order0: vec![0; ch * ORDER0_ROWS * levels],
            order0_total: vec![0; ch * ORDER0_ROWS],
            mixers: Mixers::<SOURCES>::new(ch),
            mae: vec![(4.0, 1.0); ch * ACT * 2],
            shapes: Shapes::get(),
            colours: [OUTSIDE; 9],
            colours_at: (usize::MAX, usize::MAX),
            acc: vec![0.0; levels],
            cur: Cur::default(),
        }
    }

    /// The colour key of pixel (x, y) of `px` (raster order, `ch` values a pixel), or
    /// [`OUTSIDE`].
    fn colour(&self, px: &impl Fn(usize) -> u8, x: isize, y: isize) -> u64 {
        if x < 0 || y < 0 || x >= self.width as isize {
            return OUTSIDE;
        }
        let i = (y as usize * self.width + x as usize) * self.ch;
        (i..i + self.ch).fold(0, |k, j| k << 8 | px(j) as u64)
    }

    /// Channel `c`'s value at (x, y), 0 outside the image.
    fn value(&self, px: &impl Fn(usize) -> u8, x: isize, y: isize, c: usize) -> i32 {
        if x < 0 || y < 0 || x >= self.width as isize {
            return 0;
        }
        px((y as usize * self.width + x as usize) * self.ch + c) as i32
    }
}

/// Multiplier from a running mean absolute error to the logistic experts' scale.
const SCALE_OF_MAE: [f64; 2] = [0.8, 1.6];

impl ContextModel {
    /// The distribution of channel `c` at (x, y) into `out` (`levels` values), from `px`: the
    /// image in raster order by sub-pixel index, complete before this sub-pixel (what follows is
    /// never read). Sub-pixels must be asked in raster order (of the rows this model learns
    /// from), each followed by [`ContextModel::update`] with its value.
    pub(crate) fn predict(&mut self, px: &impl Fn(usize) -> u8, x: usize, y: usize, c: usize, out: &mut [f32]) {
        self.locate(px, x, y, c);
        self.distribution(out);
    }

    /// The first half of [`ContextModel::predict`]: the sub-pixel's contexts and experts'
    /// predictions, with its table slots fetched towards the cache (version 7's stage does this
    /// before version 5's mixture, so that the look-ups overlap with it).
    pub(crate) fn locate(&mut self, px: &impl Fn(usize) -> u8, x: usize, y: usize, c: usize) {
        let (xi, yi) = (x as isize, y as isize);
        if c == 0 || self.colours_at != (x, y) {
            self.colours_at = (x, y);
            let at = |dx: isize, dy: isize| self.colour(px, xi + dx, yi + dy);
            self.colours = [
                at(-1, 0),
                at(0, -1),
                at(-1, -1),
                at(1, -1),
                at(-2, 0),
                at(0, -2),
                at(-1, -2),
                at(1, -2),
                at(-2, -1),
            ];
        }
        let i = (y * self.width + x) * self.ch;
        let prefix = (i..i + c).fold(0u64, |k, j| k << 8 | px(j) as u64);
        let base = mix64(c as u64 + 1, prefix);
        let [w, n, nw, ne, ww, nn, nnw, nne, nww] = self.colours;
        let hash = |id: u64, parts: &[u64]| parts.iter().fold(mix64(base, id), |h, &p| mix64(h, p));
        let small_keys = [
            hash(0, &[w, n, nw, ne]),
            hash(1, &[w, n]),
            hash(2, &[n, nn, ne]),
            hash(3, &[w, ww, nw]),
            hash(4, &[w, n, nw, ne, ww, nn, nnw, nne, nww]),
            {
                let v = |dx: isize, dy: isize, c: usize| self.value(px, xi + dx, yi + dy, c);
                let d = if c > 0 {
                    (px(i + c - 1) as i32 - v(-1, 0, c - 1)) as u64 & 0x1ff
                } else {
                    0
                };
                let parts = [
                    v(-1, 0, c) as u64,
                    v(0, -1, c) as u64,
                    v(-1, -1, c) as u64,
                    v(1, -1, c) as u64,
                    d,
                ];
                parts.iter().fold(mix64(c as u64 + 1, 8), |h, &p| mix64(h, p))
            },
        ];
        let wide_keys = [hash(5, &[w]), hash(6, &[n])];
        // The experts: MED of this channel, and MED moved by the earlier channel's MED error.
        let v = |dx: isize, dy: isize, c: usize| self.value(px, xi + dx, yi + dy, c);
        let (a, b, cc) = (v(-1, 0, c), v(0, -1, c), v(-1, -1, c));
        let m = med(a, b, cc);
        let top = self.levels as i32 - 1;
        let p2 = if c > 0 {
            let u0 = px(i + c - 1) as i32;
            (m + u0 - med(v(-1, 0, c - 1), v(0, -1, c - 1), v(-1, -1, c - 1))).clamp(0, top)
        } else {
            m
        };
        let act = (a - cc).unsigned_abs()
            + (b - cc).unsigned_abs()
            + (a - v(-2, 0, c)).unsigned_abs()
            + (b - v(0, -2, c)).unsigned_abs();
        let row0 = c * ORDER0_ROWS + (hash(7, &[]) >> 52) as usize;
        let cur = &mut self.cur;
        cur.c = c;
        for (slot, &key) in cur.small.iter_mut().zip(&small_keys) {
            *slot = self.small.locate(key);
        }
        for (slot, &key) in cur.wide.iter_mut().zip(&wide_keys) {
            *slot = self.wide.locate(key);
        }
        cur.row0 = row0;
        cur.preds = [m, p2];
        cur.act = bucket(act as f64, ACT);
        for &at in &cur.small {
            self.small.prefetch(at);
        }
        for &at in &cur.wide {
            self.wide.prefetch(at);
        }
    }

    /// The second half of [`ContextModel::predict`], after [`ContextModel::locate`].
    pub(crate) fn distribution(&mut self, out: &mut [f32]) {
        let cur = &mut self.cur;
        let c = cur.c;
        let st0 = self.small.find(cur.small[0]).map_or(0, Slot::state);
        let st1 = self.small.find(cur.small[4]).map_or(0, Slot::state);
        let mix1 = ((c * MIX_ACT + cur.act.min(MIX_ACT - 1)) * STATES + st0) * STATES + st1;
        let sa = self.small.find(cur.small[1]).map_or(0, Slot::state);
        let sb = self.wide.find(cur.wide[0]).map_or(0, Slot::state);
        let sc = self.wide.find(cur.wide[1]).map_or(0, Slot::state);
        let mix2 = ((c * STATES + sa) * STATES + sb) * STATES + sc;
        let sd = self.small.find(cur.small[2]).map_or(0, Slot::state);
        let se = self.small.find(cur.small[3]).map_or(0, Slot::state);
        let mix3 = ((c * ACT + cur.act) * STATES + sd) * STATES + se;
        let top = |k: usize| self.small.find(cur.small[k]).map(Slot::top);
        let (t0, t1, t4) = (top(0), top(1), top(4));
        let s5 = self.small.find(cur.small[5]).map_or(0, Slot::state);
        let mix4 = ((c * STATES + s5) * 3 + agreement(t0, t1)) * 3 + agreement(t0.or(t1), t4);
        cur.mix = [mix1, mix2, mix3, mix4];
        let wt = self.mixers.weights(cur.mix);

        // Each source's scale (0: absent, coded as uniform) and the uniform term.
        let l = self.levels;
        let uniform = 1.0 / l as f64;
        for k in 0..SMALL {
            cur.scale[k] = self.small.find(cur.small[k]).map_or(0.0, |s| 1.0 / s.total() as f64);
        }
        for k in 0..WIDE {
            cur.scale[SMALL + k] = self.wide.find(cur.wide[k]).map_or(0.0, |s| 1.0 / s.total() as f64);
        }
        let t0 = self.order0_total[cur.row0];
        cur.scale[ORDER0] = if t0 == 0 { 0.0 } else { 1.0 / t0 as f64 };
        for (e, &times) in SCALE_OF_MAE.iter().enumerate() {
            let (sum, cnt) = self.mae[(c * ACT + cur.act) * 2 + e];
            let j = self.shapes.scale_of((sum / cnt) * times);
            let first = MID - cur.preds[e] as usize;
            cur.rows[e] = (j, first);
            cur.scale[LOG1 + e] = 1.0 / self.shapes.sum(j, 0, first, first + l);
        }
        cur.scale[UNIFORM] = uniform;
        let mut u = wt[UNIFORM] * uniform;
        for (k, &s) in cur.scale[..ORDER0 + 1].iter().enumerate() {
            if s == 0.0 {
                u += wt[k] * uniform;
            }
        }

        // The mixture, level by level: uniform, order-0, the logistic experts, then the
        // hashed contexts' entries in order.
        let acc = &mut self.acc;
        let a0 = wt[ORDER0] * cur.scale[ORDER0];
        let row0 = &self.order0[cur.row0 * l..(cur.row0 + 1) * l];
        let log_row = |e: usize| {
            let (j, first) = cur.rows[e];
            (
                wt[LOG1 + e] * cur.scale[LOG1 + e],
                &self.shapes.row(j, 0)[first..first + l],
            )
        };
        kernels6::dense(acc, u, a0, row0, [log_row(0), log_row(1)]);
        for (k, &at) in cur.small.iter().enumerate() {
            if let Some(s) = self.small.find(at) {
                let ak = wt[k] * cur.scale[k];
                for (&val, &cnt) in s.v[..s.len as usize].iter().zip(&s.n) {
                    acc[val as usize] += ak * cnt as f64;
                }
            }
        }
        for (k, &at) in cur.wide.iter().enumerate() {
            if let Some(s) = self.wide.find(at) {
                let ak = wt[SMALL + k] * cur.scale[SMALL + k];
                for (&val, &cnt) in s.v[..s.len as usize].iter().zip(&s.n) {
                    acc[val as usize] += ak * cnt as f64;
                }
            }
        }
        kernels6::to_f32(acc, out);
    }

    /// The four mixers' contexts of the sub-pixel last predicted (version 7's context stage
    /// mixes in them too).
    pub(crate) fn mix_contexts(&self) -> [usize; 4] {
        self.cur.mix
    }

    /// Source i's probability of `v` for the sub-pixel last predicted.
    fn source(&self, i: usize, v: usize) -> f64 {
        let cur = &self.cur;
        let s = cur.scale[i];
        if s == 0.0 {
            return 1.0 / self.levels as f64;
        }
        let count = |len: u8, vals: &[u8], ns: &[u16]| {
            vals[..len as usize]
                .iter()
                .position(|&q| q as usize == v)
                .map_or(0.0, |p| ns[p] as f64)
        };
        match i {
            k if k < SMALL => {
                let sl = self.small.find(cur.small[k]).expect("present");
                count(sl.len, &sl.v, &sl.n) * s
            }
            k if k < ORDER0 => {
                let sl = self.wide.find(cur.wide[k - SMALL]).expect("present");
                count(sl.len, &sl.v, &sl.n) * s
            }
            ORDER0 => self.order0[cur.row0 * self.levels + v] as f64 * s,
            LOG1 | LOG2 => {
                let (j, first) = cur.rows[i - LOG1];
                self.shapes.row(j, 0)[first + v] as f64 * s
            }
            _ => s,
        }
    }

    /// Learns from the value `v` of the sub-pixel last predicted.
    pub(crate) fn update(&mut self, v: usize) {
        let mut ps = [0.0; SOURCES];
        for (i, p) in ps.iter_mut().enumerate() {
            *p = self.source(i, v);
        }
        let cur = &self.cur;
        self.mixers.update(cur.mix, &ps);
        for e in 0..2 {
            let m = &mut self.mae[(cur.c * ACT + cur.act) * 2 + e];
            m.0 += (v as i32 - cur.preds[e]).unsigned_abs() as f64;
            m.1 += 1.0;
            if m.1 > 64.0 {
                m.0 *= 0.5;
                m.1 *= 0.5;
            }
        }
        for k in 0..SMALL {
            self.small.add(cur.small[k], v as u8);
        }
        for k in 0..WIDE {
            self.wide.add(cur.wide[k], v as u8);
        }
        let l = self.levels;
        let row = &mut self.order0[cur.row0 * l..(cur.row0 + 1) * l];
        row[v] += 2;
        self.order0_total[cur.row0] += 2;
        if self.order0_total[cur.row0] > ORDER0_LIMIT {
            let mut t = 0;
            for n in row.iter_mut() {
                *n = n.div_ceil(2);
                t += *n as u32;
            }
            self.order0_total[cur.row0] = t;
        }
    }
}

#[cfg(test)]
#[path = "cm6_tests.rs"]
mod tests;

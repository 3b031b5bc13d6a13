//! The engine graph (planes and ops in topological order) and its two modes: batch (whole image,
//! row bands in parallel; used to encode) and incremental (one sub-pixel at a time; used to
//! decode and sample). Both compute every value with [`Op::point`].

use rayon::prelude::*;

use crate::config::{group_range, Config};
use crate::error::{ModelError, Result};
use crate::fmath::softmax;
use crate::layers::{Op, Plane};

/// Floats of feature planes kept per batch band (the band height adapts to the width).
const BAND_BUDGET: usize = 1 << 24;
/// Floats of logits computed at once in batch mode.
const LOGIT_BUDGET: usize = 1 << 21;

#[inline]
pub(crate) fn relu(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

/// Planes and ops of a model. Plane `image` holds the scaled input, plane `logits` the output.
#[derive(Clone, Debug)]
pub struct Graph {
    pub channels: usize,
    pub levels: usize,
    pub plane_ch: Vec<usize>,
    pub ops: Vec<Op>,
    pub image: usize,
    pub logits: usize,
    /// Input scaling: level v ↦ 2v/(levels−1) − 1.
    scale: Vec<f32>,
    /// Rows each plane keeps in incremental mode.
    ring_rows: Vec<usize>,
}

impl Graph {
    pub(crate) fn new(c: &Config) -> Graph {
        let den = (c.levels - 1) as f32;
        Graph {
            channels: c.channels,
            levels: c.levels,
            plane_ch: vec![c.channels],
            ops: Vec::new(),
            image: 0,
            logits: 0,
            scale: (0..c.levels).map(|v| v as f32 * 2.0 / den - 1.0).collect(),
            ring_rows: Vec::new(),
        }
    }

    pub(crate) fn plane(&mut self, ch: usize) -> usize {
        self.plane_ch.push(ch);
        self.plane_ch.len() - 1
    }

    pub(crate) fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    pub(crate) fn finish(&mut self, logits: usize) {
        self.logits = logits;
        self.ring_rows = vec![1; self.plane_ch.len()];
        for op in &self.ops {
            for (src, conv) in &op.terms {
                self.ring_rows[*src] = self.ring_rows[*src].max(conv.up + 1);
            }
        }
    }

    fn check(&self, pixels: &[u8], width: usize, height: usize) -> Result<()> {
        let want = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(self.channels))
            .ok_or(ModelError::Limit {
                what: "image size",
                value: u64::MAX,
                limit: usize::MAX as u64,
            })?;
        if width == 0 || height == 0 || pixels.len() != want {
            return Err(ModelError::Mismatch {
                what: "pixel buffer",
                expected: format!("{want} bytes ({width}×{height}×{})", self.channels),
                found: format!("{} bytes", pixels.len()),
            });
        }
        if let Some(&v) = pixels.iter().find(|&&v| v as usize >= self.levels) {
            return Err(ModelError::Mismatch {
                what: "sub-pixel values",
                expected: format!("values below {}", self.levels),
                found: format!("the value {v}"),
            });
        }
        Ok(())
    }

    /// Batch mode: the distribution (`levels` probabilities) of every sub-pixel of `pixels`
    /// (H×W×C, raster order), handed to `sink` in coding order. Results do not depend on `threads`.
    pub fn batch<E: From<ModelError>>(
        &self,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        sink: impl FnMut(&[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.run_batch(pixels, width, height, threads, true, sink)
    }

    /// The raw logits (before the softmax) of every sub-pixel, H×W×C×levels; for checking the
    /// engine against the libtorch model.
    pub fn logits(&self, pixels: &[u8], width: usize, height: usize, threads: usize) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(pixels.len() * self.levels);
        self.run_batch::<ModelError>(pixels, width, height, threads, false, |l| {
            out.extend_from_slice(l);
            Ok(())
        })?;
        Ok(out)
    }

    fn run_batch<E: From<ModelError>>(
        &self,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        softmax_on: bool,
        mut sink: impl FnMut(&[f32]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.check(pixels, width, height)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map_err(|e| ModelError::bad("threads", e.to_string()))?;
        let n = self.plane_ch.len();
        let last = self.ops.len() - 1;
        let feat: usize = (0..n).filter(|&p| p != self.logits).map(|p| self.plane_ch[p]).sum();
        let band = (BAND_BUDGET / (width * feat).max(1)).clamp(16, 512).min(height);
        let lch = self.plane_ch[self.logits];
        let chunk = (LOGIT_BUDGET / (width * lch)).clamp(1, band);
        let mut planes = vec![Plane::default(); n];
        let mut tmp = Vec::new();
        for y0 in (0..height).step_by(band) {
            let y1 = (y0 + band).min(height);
            // Rows each plane needs for this band, walking the ops backwards.
            let mut start = vec![usize::MAX; n];
            let mut op_start = vec![y0; self.ops.len()];
            for i in (0..=last).rev() {
                let op = &self.ops[i];
                let s = if i == last {
                    y0
                } else {
                    [op.raw, op.relu]
                        .into_iter()
                        .flatten()
                        .map(|p| start[p])
                        .min()
                        .unwrap_or(y0)
                        .min(y0)
                };
                op_start[i] = s;
                for p in [op.raw, op.relu].into_iter().flatten() {
                    start[p] = s;
                }
                for (src, conv) in &op.terms {
                    start[*src] = start[*src].min(s.saturating_sub(conv.up));
                }
                if let Some(r) = op.residual {
                    start[r] = start[r].min(s);
                }
            }
            for p in 0..n {
                let s = start[p].min(y1);
                planes[p].reset(width, self.plane_ch[p], s, y1 - s);
            }
            let img = &mut planes[self.image];
            for y in img.origin..y1 {
                let src = &pixels[y * width * self.channels..(y + 1) * width * self.channels];
                for (d, &v) in img.row_mut(y).iter_mut().zip(src) {
                    *d = self.scale[v as usize];
                }
            }
            for (i, &s) in op_start.iter().enumerate().take(last) {
                self.run_rows(&pool, &mut planes, &mut tmp, i, s, y1);
            }
            for yc in (y0..y1).step_by(chunk) {
                let ye = (yc + chunk).min(y1);
                self.run_rows(&pool, &mut planes, &mut tmp, last, yc, ye);
                let levels = self.levels;
                let lg = &mut planes[self.logits].data;
                if softmax_on {
                    pool.install(|| {
                        lg.par_chunks_mut(levels).for_each_init(
                            || vec![0.0f32; levels],
                            |buf, l| {
                                softmax(l, buf);
                                l.copy_from_slice(buf);
                            },
                        )
                    });
                }
                for probs in lg.chunks_exact(levels) {
                    sink(probs)?;
                }
            }
        }
        Ok(())
    }

    /// Computes op `i` for rows `ys..ye` (all channels) into its output planes, which are
    /// re-windowed to exactly those rows.
    fn run_rows(
        &self,
        pool: &rayon::ThreadPool,
        planes: &mut [Plane],
        tmp: &mut Vec<f32>,
        i: usize,
        ys: usize,
        ye: usize,
    ) {
        let op = &self.ops[i];
        let width = planes[self.image].width;
        let cout = op.cout;
        tmp.clear();
        tmp.resize((ye - ys) * width * cout, 0.0);
        {
            let planes = &*planes;
            pool.install(|| {
                tmp.par_chunks_mut(width * cout).enumerate().for_each(|(r, row)| {
                    for (x, out) in row.chunks_exact_mut(cout).enumerate() {
                        op.point(planes, ys + r, x, 0..cout, out);
                    }
                })
            });
        }
        if let Some(p) = op.relu {
            planes[p].reset(width, cout, ys, ye - ys);
            for (d, &v) in planes[p].data.iter_mut().zip(tmp.iter()) {
                *d = relu(v);
            }
        }
        if let Some(p) = op.raw {
            planes[p].reset(width, cout, ys, ye - ys);
            std::mem::swap(&mut planes[p].data, tmp);
        }
    }

    /// Starts incremental mode for a `width`×`height` image.
    pub fn session(&self, width: usize, height: usize) -> Session<'_> {
        let planes = (0..self.plane_ch.len())
            .map(|p| {
                let mut pl = Plane::default();
                pl.reset(width, self.plane_ch[p], 0, self.ring_rows[p].min(height.max(1)));
                pl
            })
            .collect();
        Session {
            g: self,
            width,
            height,
            planes,
            y: 0,
            x: 0,
            c: 0,
            computed: false,
            scratch: vec![0.0; self.plane_ch.iter().copied().max().unwrap_or(0)],
        }
    }
}

/// Incremental mode: call [`Session::distribution`] for the next sub-pixel, then
/// [`Session::push`] its value; each step evaluates one position of every layer for one channel
/// group, reusing everything computed before.
pub struct Session<'g> {
    g: &'g Graph,
    width: usize,
    height: usize,
    planes: Vec<Plane>,
    y: usize,
    x: usize,
    c: usize,
    computed: bool,
    scratch: Vec<f32>,
}

impl Session<'_> {
    /// (row, column, sub-pixel) of the next sub-pixel.
    pub fn position(&self) -> (usize, usize, usize) {
        (self.y, self.x, self.c)
    }

    /// True once every sub-pixel has been pushed.
    pub fn done(&self) -> bool {
        self.y >= self.height
    }

    /// The distribution of the next sub-pixel, written into `probs` (`levels` values).
    pub fn distribution(&mut self, probs: &mut [f32]) {
        assert!(!self.done(), "distribution() after the last sub-pixel");
        let (g, y, x, c) = (self.g, self.y, self.x, self.c);
        for op in &g.ops {
            let r = group_range(op.cout, g.channels, c);
            let out = &mut self.scratch[..r.len()];
            op.point(&self.planes, y, x, r.clone(), out);
            if let Some(p) = op.raw {
                self.planes[p].at_mut(y, x)[r.clone()].copy_from_slice(out);
            }
            if let Some(p) = op.relu {
                for (d, &v) in self.planes[p].at_mut(y, x)[r.clone()].iter_mut().zip(out.iter()) {
                    *d = relu(v);
                }
            }
        }
        let l = &self.planes[g.logits].at(y, x)[c * g.levels..(c + 1) * g.levels];
        softmax(l, probs);
        self.computed = true;
    }

    /// Records the value of the next sub-pixel and advances.
    pub fn push(&mut self, value: u8) {
        assert!(!self.done(), "push() after the last sub-pixel");
        if !self.computed {
            let mut p = vec![0.0; self.g.levels];
            self.distribution(&mut p);
        }
        let v = (value as usize).min(self.g.levels - 1);
        self.planes[self.g.image].at_mut(self.y, self.x)[self.c] = self.g.scale[v];
        self.computed = false;
        self.c += 1;
        if self.c == self.g.channels {
            self.c = 0;
            self.x += 1;
            if self.x == self.width {
                self.x = 0;
                self.y += 1;
            }
        }
    }
}

impl Graph {
    /// Multiply-adds per pixel (all channel groups, interior pixel).
    pub fn macs_per_pixel(&self) -> usize {
        self.ops
            .iter()
            .flat_map(|op| op.terms.iter().map(|(_, c)| c.macs()))
            .sum()
    }
}

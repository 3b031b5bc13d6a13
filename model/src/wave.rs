//! Batch mode with rows side by side (encoding on several threads): thread k computes rows
//! k, k + T, …, each in blocks of positions, every step of a block before the next block, a
//! block starting once the row above has published the columns the model reaches (its
//! [`Graph::row_lag`]). Every value is computed by the same `block` code from the same inputs
//! as in [`Graph::batch`], so the distributions are bit for bit the same; a row's
//! distributions go to the caller's row function on the thread that computed the row.
//!
//! Synchronisation as in [`crate::rows`]: progress per row (release / acquire), the planes'
//! rings `T − 1` rows deeper than a sequential pass's. A thread's rows run in increasing order,
//! so row y starts after row y − T is complete, and with it every row above (each row's last
//! block waited for the whole row above).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::dist::Dist;
use crate::error::ModelError;
use crate::fused::MAX_POSITIONS;
use crate::graph::{Graph, Sched};
use crate::kernels::Arith;
use crate::layers::Plane;
use crate::memo::{field_for, Field};
use crate::memo_batch::BlockMemo;
use crate::rows::wait_for;

/// The shared state of the rows of one image computed side by side.
struct Wave<'a> {
    g: &'a Graph,
    arith: Arith,
    pixels: &'a [u8],
    width: usize,
    lag: usize,
    planes: Vec<Plane>,
    /// Complete positions per row.
    progress: Vec<AtomicUsize>,
    abort: AtomicBool,
    /// Where outputs can be remembered ([`crate::memo`]), the field, and the memos of rows
    /// that finished (a thread's next row takes one).
    field: Option<Field>,
    memos: Mutex<Vec<BlockMemo>>,
}

/// Where a row's network outputs come from.
enum Source<'a> {
    /// Computed block by block on this thread.
    Wave(&'a Wave<'a>),
    /// Computed already (W × outputs), by the sequential batch mode.
    Outputs(&'a [f32]),
}

/// One row of a batch: [`RowBatch::for_each`] hands every sub-pixel's distribution, in order,
/// to a function.
pub struct RowBatch<'a> {
    g: &'a Graph,
    y: usize,
    /// The row's values (W × C).
    px: &'a [u8],
    src: Source<'a>,
    done: bool,
    aborted: bool,
}

impl RowBatch<'_> {
    /// The row this batch computes.
    pub fn y(&self) -> usize {
        self.y
    }

    /// Every sub-pixel's distribution with its value, in order, to `f` (which may fail; then the
    /// batch stops). Once per row.
    pub fn for_each<E: From<ModelError>>(&mut self, mut f: impl FnMut(Dist<'_>, u8) -> Result<(), E>) -> Result<(), E> {
        assert!(!self.done, "for_each() twice for row {}", self.y);
        self.done = true;
        let (g, ch) = (self.g, self.g.channels);
        let mut probs = vec![0.0; g.levels];
        match self.src {
            Source::Outputs(out) => g.dists(out, self.px, &mut probs, &mut f),
            Source::Wave(w) => {
                let mut scratch =
                    vec![0.0; MAX_POSITIONS * g.steps.iter().map(|s| s.units() * s.values()).max().unwrap_or(0)];
                let mut memo = w.take_memo();
                let r = (|| {
                    for x0 in (0..w.width).step_by(MAX_POSITIONS) {
                        let np = MAX_POSITIONS.min(w.width - x0);
                        if !w.compute(self.y, x0, np, &mut scratch, memo.as_mut()) {
                            self.aborted = true;
                            return Err(ModelError::bad("threads", "another thread failed").into());
                        }
                        for x in x0..x0 + np {
                            let out = w.planes[g.logits].at(self.y, x);
                            g.dists(out, &self.px[x * ch..(x + 1) * ch], &mut probs, &mut f)?;
                        }
                    }
                    Ok(())
                })();
                if let Some(m) = memo {
                    w.memos.lock().unwrap_or_else(|e| e.into_inner()).push(m);
                }
                r
            }
        }
    }
}

impl Graph {
    /// Whether [`Graph::batch_rows`] computes rows side by side (else one row at a time).
    pub(crate) fn wave_ok(&self) -> bool {
        self.cond.is_none() && self.row_lag().is_some() && self.steps.iter().all(|s| s.sched() == Sched::Parallel)
    }

    /// Batch mode for a single-scale model a row at a time: `row(batch)` must call
    /// [`RowBatch::for_each`]. Rows side by side on `threads` threads when the model allows
    /// (each row's function runs on the thread that computes the row, a thread's rows in
    /// increasing order); else in order on this thread, each row's positions on `threads`
    /// threads. The distributions never depend on `threads`.
    pub fn batch_rows<E: From<ModelError> + Send>(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        row: impl Fn(&mut RowBatch<'_>) -> Result<(), E> + Sync,
    ) -> Result<(), E> {
        self.check(pixels, width, height)?;
        if self.cond.is_some() {
            return Err(ModelError::bad("batch_rows", "not for a multi-scale model's conditional network").into());
        }
        let row_len = width * self.channels;
        let skipped = |y| ModelError::bad("batch_rows", format!("the row function skipped row {y}"));
        if !self.wave_ok() {
            let mut y = 0;
            return self.run_rows(arith, pixels, width, height, threads, None, |_, out, px| {
                let mut b = RowBatch {
                    g: self,
                    y,
                    px,
                    src: Source::Outputs(out),
                    done: false,
                    aborted: false,
                };
                row(&mut b)?;
                if !b.done {
                    return Err(skipped(y).into());
                }
                y += 1;
                Ok(())
            });
        }
        let t = threads.clamp(1, height);
        let wave = Wave::new(self, arith, pixels, width, height, t);
        // Err(None): this thread gave up because another one failed.
        let work = |k: usize| -> Result<(), Option<E>> {
            for y in (k..height).step_by(t) {
                let mut b = RowBatch {
                    g: self,
                    y,
                    px: &pixels[y * row_len..(y + 1) * row_len],
                    src: Source::Wave(&wave),
                    done: false,
                    aborted: false,
                };
                let r = row(&mut b).and_then(|()| if b.done { Ok(()) } else { Err(skipped(y).into()) });
                if let Err(e) = r {
                    wave.abort.store(true, Ordering::Release);
                    return Err((!b.aborted).then_some(e));
                }
            }
            Ok(())
        };
        let results: Vec<Result<(), Option<E>>> = std::thread::scope(|s| {
            let work = &work;
            let handles: Vec<_> = (1..t).map(|k| s.spawn(move || work(k))).collect();
            let mut v = vec![work(0)];
            v.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            );
            v
        });
        let mut first = None;
        for r in results {
            match r {
                Err(Some(e)) => return Err(e),
                Err(None) => first = first.or(Some(ModelError::bad("threads", "rows were abandoned"))),
                Ok(()) => {}
            }
        }
        first.map_or(Ok(()), |e| Err(e.into()))
    }
}

impl Graph {
    /// Batch mode on this thread, in blocks of positions through every step (a model with
    /// [`Graph::wave_ok`]): [`Graph::batch`]'s distributions, to `sink` in raster order.
    pub(crate) fn batch_blocks<E: From<ModelError>>(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        mut sink: impl FnMut(Dist<'_>, u8) -> Result<(), E>,
    ) -> Result<(), E> {
        debug_assert!(self.wave_ok());
        let wave = Wave::new(self, arith, pixels, width, height, 1);
        let row_len = width * self.channels;
        for y in 0..height {
            let mut b = RowBatch {
                g: self,
                y,
                px: &pixels[y * row_len..(y + 1) * row_len],
                src: Source::Wave(&wave),
                done: false,
                aborted: false,
            };
            b.for_each(&mut sink)?;
        }
        Ok(())
    }
}

/// Batch mode a row at a time on the caller's threads, for a model whose rows are driven beside
/// another model's (the codec's alpha split): [`RowWave::row`] gives row y's [`RowBatch`].
/// Rows are taken once each, at most `threads` at a time: row y waits until row y − `threads` is
/// complete, so a caller running rows k, k + T, … on each of T threads (as
/// [`Graph::batch_rows`] does) never waits for that. A row that is taken must be computed
/// (its `for_each` called and run to the end) or the wave aborted, else the rows below wait.
pub struct RowWave<'a> {
    wave: Wave<'a>,
    threads: usize,
    taken: Vec<AtomicBool>,
}

impl Graph {
    /// The rows of a batch over `pixels` (`width`×`height`), for up to `threads` threads; None
    /// where the model cannot compute rows side by side (a recurrent model whose rows need
    /// whole rows before them, or a conditional network).
    pub fn row_wave<'a>(
        &'a self,
        arith: Arith,
        pixels: &'a [u8],
        width: usize,
        height: usize,
        threads: usize,
    ) -> Result<Option<RowWave<'a>>, ModelError> {
        self.check(pixels, width, height)?;
        if !self.wave_ok() {
            return Ok(None);
        }
        let threads = threads.clamp(1, height.max(1));
        Ok(Some(RowWave {
            wave: Wave::new(self, arith, pixels, width, height, threads),
            threads,
            taken: (0..height).map(|_| AtomicBool::new(false)).collect(),
        }))
    }
}

impl RowWave<'_> {
    /// Row `y`'s batch, to compute on this thread. An error if the row was taken already, is
    /// outside the image, or the wave was aborted while this row waited for row y − threads.
    pub fn row(&self, y: usize) -> Result<RowBatch<'_>, ModelError> {
        let w = &self.wave;
        if y >= self.taken.len() || self.taken[y].swap(true, Ordering::AcqRel) {
            return Err(ModelError::bad(
                "row_wave",
                format!("row {y} is outside the image or taken already"),
            ));
        }
        // The planes' rings hold `threads` rows in flight: the slots row y reuses are free once
        // row y − threads is complete (and with it every row above).
        if y >= self.threads && !w.wait(y - self.threads, w.width) {
            return Err(ModelError::bad("threads", "another thread failed"));
        }
        let row_len = w.width * w.g.channels;
        Ok(RowBatch {
            g: w.g,
            y,
            px: &w.pixels[y * row_len..(y + 1) * row_len],
            src: Source::Wave(w),
            done: false,
            aborted: false,
        })
    }

    /// Look-ups of remembered outputs ([`crate::memo`]) so far and how many found them (rows
    /// that finished).
    pub fn remembered(&self) -> (u64, u64) {
        let memos = self.wave.memos.lock().unwrap_or_else(|e| e.into_inner());
        memos
            .iter()
            .map(BlockMemo::counts)
            .fold((0, 0), |(l, h), (a, b)| (l + a, h + b))
    }

    /// Makes every row waiting in [`RowWave::row`] or its `for_each` give up with an error.
    pub fn abort(&self) {
        self.wave.abort.store(true, Ordering::Release);
    }
}

impl<'a> Wave<'a> {
    /// The shared state for `t` rows at a time.
    fn new(g: &'a Graph, arith: Arith, pixels: &'a [u8], width: usize, height: usize, t: usize) -> Self {
        Wave {
            g,
            arith,
            pixels,
            width,
            lag: g.row_lag().expect("wave_ok"),
            planes: g.planes_for(width, height, t),
            progress: (0..height).map(|_| AtomicUsize::new(0)).collect(),
            abort: AtomicBool::new(false),
            field: field_for(g, arith),
            memos: Mutex::new(Vec::new()),
        }
    }

    /// A memo for a row: one that a finished row left, or a new one (None where outputs
    /// cannot be remembered).
    fn take_memo(&self) -> Option<BlockMemo> {
        let field = self.field.as_ref()?;
        let old = self.memos.lock().unwrap_or_else(|e| e.into_inner()).pop();
        Some(old.unwrap_or_else(|| BlockMemo::new(self.g, field.clone())))
    }

    /// Waits until row `y` has `n` complete positions; false if aborted.
    fn wait(&self, y: usize, n: usize) -> bool {
        wait_for(&self.progress[y], n, &self.abort)
    }

    /// Computes every step at positions (y, x0 + p), p < `np`, and publishes them; false if
    /// aborted while waiting for the row above.
    fn compute(&self, y: usize, x0: usize, np: usize, scratch: &mut [f32], memo: Option<&mut BlockMemo>) -> bool {
        let g = self.g;
        if y > 0 && !self.wait(y - 1, (x0 + np + self.lag).min(self.width)) {
            return false;
        }
        if x0 == 0 {
            let ch = g.channels;
            let row = &self.pixels[y * self.width * ch..(y + 1) * self.width * ch];
            for (x, px) in row.chunks_exact(ch).enumerate() {
                // SAFETY: row y is this thread's and unpublished; its ring slot's last readers
                // (rows up to y − T) are complete (module docs).
                let d = unsafe { self.planes[g.image].at_shared_mut(y, x) };
                for (d, &v) in d.iter_mut().zip(px) {
                    *d = g.scale()[v as usize];
                }
            }
        }
        if let Some(m) = memo.and_then(|m| m.active(np).then_some(m)) {
            // SAFETY: as below.
            unsafe {
                m.run(
                    (g, self.arith, &self.planes),
                    (self.pixels, self.width),
                    (y, x0, np),
                    scratch,
                )
            };
            self.progress[y].store(x0 + np, Ordering::Release);
            return true;
        }
        for step in &g.steps {
            let units = step.units();
            let per = units * step.values();
            let out = &mut scratch[..np * per];
            step.block(self.arith, &self.planes, (y, x0, np), 0..units, out, per);
            for (p, o) in out.chunks_exact(per).enumerate() {
                // SAFETY: as above, for positions of row y not yet published; the inputs
                // `block` read are final (this row's earlier steps and positions, and the
                // published columns of the rows above).
                unsafe { step.write_shared(&self.planes, y, x0 + p, 0..units, o) };
            }
        }
        self.progress[y].store(x0 + np, Ordering::Release);
        true
    }
}

//! Rows decoded side by side: incremental mode for several rows at once, each on its own
//! thread, each a few columns behind the row above (the lag the model's taps on rows above
//! need). Every value is computed by the same code as in [`crate::session::Session`], from
//! the same inputs, so the distributions are bit for bit those of the sequential session.
//!
//! Synchronisation: a row publishes how many of its pixels are complete (`progress`, release);
//! a row reads the rows above only up to what they published (acquire). A row starts once the
//! row `in_flight` above it is complete, so the planes' rings (that much deeper than a
//! sequential session's) never overwrite what a running row still reads.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::dist::Dist;
use crate::graph::Graph;
use crate::group::RowGroup;
use crate::kernels::Arith;
use crate::layers::Plane;
use crate::memo::{field_for, Field, Memo, SLOTS};
use crate::session::PixelDist;

/// The shared state of one image decoded row by row on several threads.
pub struct Rows<'g> {
    pub(crate) g: &'g Graph,
    pub(crate) arith: Arith,
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) in_flight: usize,
    pub(crate) lag: usize,
    pub(crate) planes: Vec<Plane>,
    /// Complete pixels per row.
    pub(crate) progress: Vec<AtomicUsize>,
    abort: AtomicBool,
    /// The network's receptive field where outputs can be remembered ([`crate::memo`]), the
    /// image's levels for the memos' keys (empty without), the memos' slots, and the memos of
    /// groups that finished (each thread's next group takes one: what a thread saw stays).
    pub(crate) field: Option<Field>,
    pub(crate) pixels: Vec<AtomicU8>,
    pub(crate) ring: usize,
    pub(crate) slots: usize,
    pub(crate) memos: Mutex<Vec<Memo>>,
    /// The one channel whose distributions are wanted ([`Rows::only`]), or None for all.
    pub(crate) only: Option<usize>,
}

impl<'g> Rows<'g> {
    /// Rows of a `width`×`height` image, at most `in_flight` (≥ 1) at a time; None when the
    /// model cannot decode rows side by side ([`Graph::row_lag`]).
    pub(crate) fn new(g: &'g Graph, arith: Arith, width: usize, height: usize, in_flight: usize) -> Option<Self> {
        let lag = g.row_lag()?;
        let in_flight = in_flight.max(1);
        let field = field_for(g, arith);
        // Levels for the keys: a ring deep enough for every row in flight and the rows above
        // them that a field reaches (row y reuses row y − ring's slot once that row and every
        // row that could read it are complete).
        let ring = field.as_ref().map_or(1, |f| (f.ring() + in_flight).min(height.max(1)));
        let n = if field.is_some() { ring * width * g.channels } else { 0 };
        Some(Rows {
            g,
            arith,
            width,
            height,
            in_flight,
            lag,
            planes: g.planes_for(width, height, in_flight),
            progress: (0..height).map(|_| AtomicUsize::new(0)).collect(),
            abort: AtomicBool::new(false),
            field,
            pixels: (0..n).map(|_| AtomicU8::new(0)).collect(),
            ring,
            slots: SLOTS,
            memos: Mutex::new(Vec::new()),
            only: None,
        })
    }

    /// Only channel `c`'s distributions will be read, as [`crate::Session::only`]: the other
    /// channels' logits and softmax are not computed. Set before any row or group is made.
    pub fn only(mut self, c: usize) -> Self {
        self.only = Some(c);
        self
    }

    /// Computes every output instead of remembering any ([`crate::memo`]; the same bits, for
    /// comparing), or remembers them in tables of `slots` (a power of two).
    pub fn remember(mut self, slots: Option<usize>) -> Self {
        match slots {
            None => {
                self.field = None;
                self.pixels = Vec::new();
            }
            Some(s) => self.slots = s.next_power_of_two(),
        }
        self
    }

    /// Look-ups of remembered outputs so far and how many found them (groups that finished).
    pub fn remembered(&self) -> (u64, u64) {
        let memos = self.memos.lock().unwrap_or_else(|e| e.into_inner());
        memos.iter().fold((0, 0), |(l, h), m| (l + m.lookups, h + m.hits))
    }

    /// A memo for a group of rows: one that a finished group left, or a new one.
    pub(crate) fn take_memo(&self) -> Option<Memo> {
        let field = self.field.as_ref()?;
        let old = self.memos.lock().unwrap_or_else(|e| e.into_inner()).pop();
        Some(old.unwrap_or_else(|| Memo::new(self.g, field.clone(), self.slots, false)))
    }

    /// Records level `v` of sub-pixel (y, x, c) for the memos' keys.
    pub(crate) fn record(&self, (y, x, c): (usize, usize, usize), v: usize) {
        if !self.pixels.is_empty() {
            let y = y % self.ring;
            self.pixels[(y * self.width + x) * self.g.channels + c].store(v as u8, Ordering::Relaxed);
        }
    }

    /// The incremental session of row `y`. Each row must be driven by one thread, and a thread
    /// must finish its rows in increasing order; rows above that nobody drives block it.
    pub fn row(&self, y: usize) -> RowSession<'_, 'g> {
        assert!(y < self.height, "row {y} of an image of {} rows", self.height);
        RowSession {
            rows: self,
            y,
            x: 0,
            c: 0,
            started: false,
            computed: false,
            scratch: self.g.scratch(),
            dist: PixelDist::new(self.g),
        }
    }

    /// Rows `ys` (increasing, 1 to 8) of one thread decoded in step, each at least `lag`
    /// (≥ [`Rows::lag`]) columns behind the row above ([`crate::group`]). A thread must finish
    /// its groups in increasing order of rows.
    pub fn group(&self, ys: &[usize], lag: usize) -> RowGroup<'_, 'g> {
        RowGroup::new(self, ys, lag)
    }

    /// Columns a row stays behind the row above.
    pub fn lag(&self) -> usize {
        self.lag
    }

    /// Makes every waiting row give up (`next_dist` returns None): a thread that failed calls
    /// it so that the others do not wait for its rows forever.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::Release);
    }

    /// Waits until row `y` has `n` complete pixels; false if aborted.
    pub(crate) fn wait(&self, y: usize, n: usize) -> bool {
        wait_for(&self.progress[y], n, &self.abort)
    }
}

/// Waits until `progress` reaches `n` (acquire), spinning a little, then yielding; false if
/// `abort` is set meanwhile. The rows of [`Rows`] and of batch mode's rows side by side
/// ([`crate::wave`]) wait for the row above with it.
pub(crate) fn wait_for(progress: &AtomicUsize, n: usize, abort: &AtomicBool) -> bool {
    let mut spins = 0u32;
    while progress.load(Ordering::Acquire) < n {
        if abort.load(Ordering::Acquire) {
            return false;
        }
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    true
}

/// One row's incremental session: [`RowSession::next_dist`], then [`RowSession::push`], for
/// each sub-pixel of the row in order.
pub struct RowSession<'r, 'g> {
    rows: &'r Rows<'g>,
    y: usize,
    x: usize,
    c: usize,
    started: bool,
    computed: bool,
    scratch: Vec<f32>,
    dist: PixelDist<'g>,
}

impl RowSession<'_, '_> {
    /// The distribution of the row's next sub-pixel, once the rows above are far enough; None
    /// if [`Rows::abort`] was called meanwhile.
    pub fn next_dist(&mut self) -> Option<Dist<'_>> {
        let r = self.rows;
        let (y, x, c) = (self.y, self.x, self.c);
        assert!(x < r.width, "next_dist() after the row's last sub-pixel");
        if !self.started {
            // The ring slots this row writes were last used by row y − in_flight's readers.
            if y >= r.in_flight && !r.wait(y - r.in_flight, r.width) {
                return None;
            }
            self.started = true;
        }
        if !self.computed {
            if c == 0 && y > 0 && !r.wait(y - 1, (x + 1 + r.lag).min(r.width)) {
                return None;
            }
            // SAFETY: this thread alone writes row y (in its ring slot, which no running row
            // reads: see `started`); every input read at (y, x) is final: row y's earlier
            // positions were computed here, and the rows above published these columns.
            let skip = r.g.skips(r.only, c);
            unsafe {
                self.dist
                    .compute(r.arith, &r.planes, (y, x, c), &mut self.scratch, None, skip)
            };
            self.computed = true;
        }
        Some(self.dist.dist())
    }

    /// Records the value of the row's next sub-pixel (after [`RowSession::next_dist`]) and
    /// advances; the last sub-pixel of a pixel publishes the pixel.
    pub fn push(&mut self, value: u8) {
        assert!(self.computed, "push() before next_dist()");
        let r = self.rows;
        let v = (value as usize).min(r.g.levels - 1);
        self.dist.observe(self.c, v);
        r.record((self.y, self.x, self.c), v);
        // SAFETY: position (y, x) of the image plane is this row's and not yet published.
        unsafe { r.planes[r.g.image].at_shared_mut(self.y, self.x)[self.c] = r.g.scale()[v] };
        self.computed = false;
        self.c += 1;
        if self.c == r.g.channels {
            self.c = 0;
            self.x += 1;
            r.progress[self.y].store(self.x, Ordering::Release);
        }
    }

    /// True once the row's last sub-pixel has been pushed.
    pub fn done(&self) -> bool {
        self.x >= self.rows.width
    }
}

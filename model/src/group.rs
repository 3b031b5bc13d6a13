//! Rows of one thread decoded in step ([`RowGroup`]): a thread that decodes several rows at
//! once (format version 3's substreams, more of them than threads) computes one position of
//! each per pass over the weights, pixel (y₀, t), (y₁, t − o₁), (y₂, t − o₂), …, instead of one
//! row after another. Incremental decoding reads every weight once a pixel, so a model larger
//! than the L2 cache runs at the speed of L3; in step, each weight read serves every row.
//!
//! Every value is computed by the same kernels from the same inputs as in [`crate::rows`]
//! (a kernel's bits do not depend on how many positions it computes), so the distributions are
//! those of the sequential session bit for bit. Synchronisation is [`crate::rows`]': a row
//! waits for the row above to publish the columns it reads, and starts once the row
//! `in_flight` above it is complete.

use std::ops::Range;
use std::sync::atomic::Ordering;

use crate::chain::MAX_GROUP;
use crate::dist::Dist;
use crate::kernels::Arith;
use crate::memo::{replay, runs_per_pixel, Found, Memo};
use crate::rows::Rows;
use crate::session::PixelDist;

/// The most rows a group holds.
pub const MAX_ROWS: usize = MAX_GROUP;

/// Rows of one thread in step: [`RowGroup::step`], then [`RowGroup::push`] every active row's
/// sub-pixel, until `step` returns no rows.
pub struct RowGroup<'r, 'g> {
    rows: &'r Rows<'g>,
    ys: Vec<usize>,
    /// Row j is at column `tick − offs[j]`.
    offs: Vec<usize>,
    dists: Vec<PixelDist<'g>>,
    started: Vec<bool>,
    tick: usize,
    c: usize,
    active: Range<usize>,
    /// Rows of `active` pushed since the last `step`.
    pushed: usize,
    computed: bool,
    /// What [`RowGroup::finish`] has left to do after this step: its distributions, and its
    /// logits step too after [`RowGroup::step_deferred`] (`Part::Body` computed).
    pending: Option<Part>,
    pos: Vec<(usize, usize)>,
    gathers: Vec<Vec<f32>>,
    scratch: Vec<f32>,
    /// Remembered outputs ([`crate::memo`]), each position's key, the positions found there
    /// (index, slot), and those to compute (index, the slot to remember them in).
    memo: Option<Memo>,
    keys: Vec<Vec<u8>>,
    hits: Vec<(usize, usize)>,
    todo: Vec<(usize, Option<usize>)>,
    miss: Vec<(usize, usize)>,
}

impl Drop for RowGroup<'_, '_> {
    fn drop(&mut self) {
        if let Some(m) = self.memo.take() {
            self.rows.memos.lock().unwrap_or_else(|e| e.into_inner()).push(m);
        }
    }
}

/// Columns between the rows of a group: row y is `(y − y₀)·(lag + 2)` columns behind the
/// group's first row y₀, i.e. each row `lag + 1` columns behind the row below the one before
/// (the wavefront rows on other threads follow) and one more, so that two threads' groups never
/// wait for each other. Linear in y, so two rows keep their distance whatever other rows share
/// their group: format version 8's lanes (rows of one substream coded in step) are coded in
/// the order of these offsets on any thread count.
fn offsets(ys: &[usize], lag: usize) -> Vec<usize> {
    ys.iter().map(|&y| (y - ys[0]) * (lag + 2)).collect()
}

impl<'r, 'g> RowGroup<'r, 'g> {
    /// Rows `ys` (increasing, at most 8), each at least `lag` ≥ [`Rows::lag`] columns behind
    /// the row above. A thread must finish its groups (and rows) in increasing order.
    pub(crate) fn new(rows: &'r Rows<'g>, ys: &[usize], lag: usize) -> Self {
        assert!(
            !ys.is_empty() && ys.len() <= MAX_GROUP,
            "1 to {MAX_GROUP} rows in a group"
        );
        assert!(ys.windows(2).all(|w| w[0] < w[1]), "rows in increasing order");
        assert!(ys.iter().all(|&y| y < rows.height), "rows of the image");
        assert!(lag >= rows.lag, "a lag below the model's");
        let g = rows.g;
        RowGroup {
            rows,
            ys: ys.to_vec(),
            offs: offsets(ys, lag),
            dists: ys.iter().map(|_| PixelDist::new(g)).collect(),
            started: vec![false; ys.len()],
            tick: 0,
            c: 0,
            active: 0..0,
            pushed: 0,
            computed: false,
            pending: None,
            pos: Vec::with_capacity(ys.len()),
            gathers: vec![Vec::new(); ys.len()],
            scratch: vec![0.0; g.scratch().len() * ys.len()],
            memo: rows.take_memo(),
            keys: vec![Vec::new(); ys.len()],
            hits: Vec::with_capacity(ys.len()),
            todo: Vec::with_capacity(ys.len()),
            miss: Vec::with_capacity(ys.len()),
        }
    }

    /// The rows of the group.
    pub fn rows(&self) -> &[usize] {
        &self.ys
    }

    /// Row j's position in the current step: (y, x, c).
    pub fn position(&self, j: usize) -> (usize, usize, usize) {
        (self.ys[j], self.tick - self.offs[j], self.c)
    }

    /// The rows active at column `tick` of row 0.
    fn active_at(&self, tick: usize) -> Range<usize> {
        let w = self.rows.width;
        let hi = self.offs.iter().filter(|&&o| o <= tick).count();
        let lo = self.offs.iter().filter(|&&o| o + w <= tick).count();
        lo..hi
    }

    /// Computes the next step, sub-pixel c of the next pixel of every active row, once the
    /// rows above are far enough: the active rows (empty once every row is done), or None if
    /// [`Rows::abort`] was called meanwhile.
    pub fn step(&mut self) -> Option<Range<usize>> {
        let r = self.advance(Part::All);
        self.finish();
        r
    }

    /// As [`RowGroup::step`] without the logits step and the distributions, which
    /// [`RowGroup::finish`] computes: a decoder's helper thread computes the rest of the
    /// network while the decoding thread is busy, and the decoding thread this part (the
    /// output layer, whose weights then stay in its cache, and the softmax), which balances
    /// the two threads' work on grey images. The bits are [`RowGroup::step`]'s.
    pub fn step_deferred(&mut self) -> Option<Range<usize>> {
        self.advance(Part::Body)
    }

    /// The next step's `part` of the network ([`RowGroup::step`]'s work until `finish`).
    fn advance(&mut self, part: Part) -> Option<Range<usize>> {
        assert!(self.pending.is_none(), "finish() a deferred step before the next");
        if self.computed {
            assert_eq!(self.pushed, self.active.len(), "push() every active row before step()");
            self.computed = false;
            self.pushed = 0;
            self.c += 1;
            if self.c == self.rows.g.channels {
                self.c = 0;
                self.tick += 1;
            }
        }
        // Rows narrower than the offsets leave steps where no row is active: skip them.
        let end = self.offs[self.offs.len() - 1] + self.rows.width;
        self.active = self.active_at(self.tick);
        while self.active.is_empty() && self.tick < end {
            self.tick += 1;
            self.active = self.active_at(self.tick);
        }
        if self.active.is_empty() {
            return Some(self.active.clone());
        }
        let r = self.rows;
        self.pos.clear();
        for j in self.active.clone() {
            let (y, x, c) = self.position(j);
            if !self.started[j] {
                // The ring slots this row writes were last used by row y − in_flight's readers.
                if y >= r.in_flight && !r.wait(y - r.in_flight, r.width) {
                    return None;
                }
                self.started[j] = true;
            }
            if c == 0 && y > 0 && !r.wait(y - 1, (x + 1 + r.lag).min(r.width)) {
                return None;
            }
            self.pos.push((y, x));
        }
        // SAFETY: this thread alone writes these rows (each in its ring slot, which no running
        // row reads: see `started`); every input read is final: the rows' earlier positions were
        // computed here, and the rows above published these columns.
        unsafe { self.compute(part) };
        self.computed = true;
        self.pending = Some(part);
        Some(self.active.clone())
    }

    /// Computes what [`RowGroup::step_deferred`] left: the logits step at the positions the
    /// memo does not remember, and every active row's distribution. Nothing after
    /// [`RowGroup::step`] or when nothing is left.
    pub fn finish(&mut self) {
        let Some(part) = self.pending.take() else {
            return;
        };
        // SAFETY: as in `step_deferred`, whose positions these are: this thread alone writes
        // them, and what they read is final.
        unsafe { self.finish_compute(part == Part::Body) };
    }

    /// The steps of channel group c of `part` (every one, or all but the logits step) at every
    /// active position, each layer in one pass for all that the memo does not remember (those
    /// it does are copied from it).
    ///
    /// # Safety
    /// As [`crate::graph::Step::run_shared`] for every step run.
    unsafe fn compute(&mut self, part: Part) {
        let (r, c) = (self.rows, self.c);
        let g = r.g;
        self.hits.clear();
        self.todo.clear();
        self.miss.clear();
        if c < g.groups {
            self.look_up(c);
            if let Some(m) = &self.memo {
                for &(i, slot) in &self.hits {
                    replay(g, &r.planes, self.pos[i], Some(c), m.outputs(slot));
                }
            }
            self.miss.extend(self.todo.iter().map(|&(i, _)| self.pos[i]));
            if !self.miss.is_empty() {
                self.run_steps(c, g.skips(r.only, c), part);
            }
        }
    }

    /// The logits step at the positions [`RowGroup::compute`] computed where `logits` (it
    /// computed the body only), then each row's distribution (from what the memo remembers
    /// where it does), remembered.
    ///
    /// # Safety
    /// As [`RowGroup::compute`], for the same step.
    unsafe fn finish_compute(&mut self, logits: bool) {
        let (r, c, act) = (self.rows, self.c, self.active.clone());
        let g = r.g;
        let skip = g.skips(r.only, c);
        if logits && !self.miss.is_empty() {
            self.run_steps(c, skip, Part::Logits);
        }
        // Rows whose distribution is prepared (from what the memo remembers).
        let mut done = [false; MAX_ROWS];
        if let Some(m) = &self.memo {
            for &(i, slot) in &self.hits {
                if !skip {
                    self.dists[act.start + i].prepare_from(&r.planes, (self.pos[i].0, self.pos[i].1, c), m.probs(slot));
                }
                done[i] = true;
            }
        }
        for (i, (j, &(y, x))) in act.clone().zip(&self.pos).enumerate() {
            if !done[i] && !skip {
                self.dists[j].prepare(&r.planes, (y, x, c));
            }
        }
        if let (Some(m), true) = (&mut self.memo, c < g.groups) {
            for &(i, slot) in &self.todo {
                if let Some(slot) = slot {
                    m.fill_probs(slot, self.dists[act.start + i].probs());
                    m.commit(slot, &self.keys[i]);
                }
            }
        }
    }

    /// Sorts the active positions into those the memo remembers (`hits`) and those to compute
    /// (`todo`, each with the slot to remember it in: the first of the step to want a slot).
    fn look_up(&mut self, c: usize) {
        let r = self.rows;
        let on = self.memo.as_mut().is_some_and(|m| m.active(self.pos.len()));
        match self.memo.as_mut().filter(|_| on) {
            Some(m) => {
                for (i, &(y, x)) in self.pos.iter().enumerate() {
                    let row_len = r.width * r.g.channels;
                    let copy = |yy: usize, j: std::ops::Range<usize>, k: &mut Vec<u8>| {
                        let row = &r.pixels[(yy % r.ring) * row_len..];
                        k.extend(row[j].iter().map(|a| a.load(Ordering::Relaxed)))
                    };
                    m.field().key(copy, r.width, (y, x, c), &mut self.keys[i]);
                    match m.find(&self.keys[i]) {
                        Found::Hit(slot) => self.hits.push((i, slot)),
                        Found::Miss(slot) => {
                            let first = !self.todo.iter().any(|&(_, s)| s == Some(slot));
                            self.todo.push((i, first.then_some(slot)));
                        }
                    }
                }
            }
            None => self.todo.extend((0..self.pos.len()).map(|i| (i, None))),
        }
    }

    /// The steps of channel group c of `part` at the positions `miss`, each layer in one pass
    /// for all, remembering their outputs where `todo` gives a slot; without the logits step
    /// where `skip` ([`crate::graph::Graph::skips`]).
    ///
    /// # Safety
    /// As [`crate::graph::Step::run_shared`] for every step run.
    unsafe fn run_steps(&mut self, c: usize, skip: bool, part: Part) {
        let r = self.rows;
        let g = r.g;
        let np = self.miss.len();
        let mut off = 0;
        for (step, chain) in g.steps.iter().zip(&g.chains) {
            if !runs_per_pixel(step.sched()) {
                continue;
            }
            let logits = g.writes_logits(step);
            let runs = match part {
                Part::All => true,
                Part::Body => !logits,
                Part::Logits => logits,
            };
            if (skip && logits) || !runs {
                off += crate::config::group_range(step.units(), g.groups, c).len();
                continue;
            }
            match (r.arith, chain) {
                (Arith::Fma(isa), Some(chain)) => {
                    let gathers = &mut self.gathers[..np];
                    let units = chain.run_many(isa, &r.planes, &self.miss, c, gathers, &mut self.scratch);
                    let n = units.len();
                    for (k, &(y, x)) in self.miss.iter().enumerate() {
                        let out = &self.scratch[k * n..(k + 1) * n];
                        step.write_shared(&r.planes, y, x, units.clone(), out);
                        if let (Some(m), (_, Some(slot))) = (&mut self.memo, self.todo[k]) {
                            m.fill(slot)[off..off + n].copy_from_slice(out);
                        }
                    }
                    off += n;
                }
                _ => {
                    // No memo here (Rows::new gives one only where every step has a plan).
                    let units = crate::config::group_range(step.units(), g.groups, c);
                    for &(y, x) in &self.miss {
                        step.run_shared(r.arith, &r.planes, y, x, units.clone(), &mut self.scratch);
                    }
                }
            }
        }
    }

    /// The distribution of row j's sub-pixel in this step (after [`RowGroup::step`]).
    pub fn dist(&self, j: usize) -> Dist<'_> {
        assert!(
            self.computed && self.pending.is_none() && self.active.contains(&j),
            "dist() of a row not in this step"
        );
        self.dists[j].dist()
    }

    /// Records the value of row j's sub-pixel in this step; the last sub-pixel of a pixel
    /// publishes the pixel.
    pub fn push(&mut self, j: usize, value: u8) {
        assert!(
            self.computed && self.pending.is_none() && self.active.contains(&j),
            "push() of a row not in this step"
        );
        let r = self.rows;
        let (y, x, c) = self.position(j);
        let v = (value as usize).min(r.g.levels - 1);
        self.dists[j].observe(c, v);
        r.record((y, x, c), v);
        // SAFETY: position (y, x) of the image plane is this row's and not yet published.
        unsafe { r.planes[r.g.image].at_shared_mut(y, x)[c] = r.g.scale()[v] };
        if c + 1 == r.g.channels {
            r.progress[y].store(x + 1, Ordering::Release);
        }
        self.pushed += 1;
    }
}

/// Which of a step's layers [`RowGroup::run_steps`] runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Every one.
    All,
    /// Every one but the logits step.
    Body,
    /// The logits step.
    Logits,
}

#[cfg(test)]
mod tests {
    use super::offsets;

    #[test]
    fn rows_follow_each_other_a_lag_apart() {
        assert_eq!(offsets(&[4], 3), vec![0]);
        assert_eq!(offsets(&[0, 1, 2, 3], 2), vec![0, 4, 8, 12]);
        assert_eq!(offsets(&[0, 2], 3), vec![0, 10]);
        assert_eq!(offsets(&[4, 7, 8], 1), vec![0, 9, 12]);
    }
}

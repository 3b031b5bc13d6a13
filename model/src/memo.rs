//! The network's outputs remembered by what they can see (incremental decoding): a PixelCNN's
//! outputs at a position are a function of the pixels in its receptive field and of where the
//! image's borders cut it, so where that neighbourhood repeats (a screenshot's flat background,
//! a diagram's white page) they are copied from the last time instead of computed. A hit copies
//! exactly the values that the same computation wrote, so the bits do not change.
//!
//! [`Field`] is the receptive field, derived from the steps' taps; [`Memo`] a direct-mapped table
//! of (key, outputs), one per decoding thread. The key is the channel group, the position's
//! distances to the borders (capped at the field's reach) and every pixel of the field that is
//! inside the image (the current pixel's earlier channels only). Two positions with equal keys
//! read equal inputs through every layer, so their outputs are equal bit for bit; positions
//! outside the field may still be undecoded (rows side by side): the key never reads them.

use crate::config::group_range;
use crate::graph::{Graph, Sched};
use crate::kernels::Arith;
use crate::layers::Plane;
use crate::step::Step;

/// Slots of a [`Memo`] unless told otherwise: most of what a screenshot repeats fits in a
/// thousand neighbourhoods (more slots gain little).
pub(crate) const SLOTS: usize = 1024;

/// The receptive field of every output at (y, x): for k rows up (k = 0 the current row), the
/// columns x + lo ..= x + hi; on the current row, column x itself is the current pixel's
/// earlier channels (hi = 0 at most).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) rows: Vec<Option<(isize, isize)>>,
    left: usize,
    right: usize,
    channels: usize,
    groups: usize,
}

/// Unions `(lo, hi)` into `slot`.
fn widen(slot: &mut Option<(isize, isize)>, lo: isize, hi: isize) {
    *slot = Some(match *slot {
        None => (lo, hi),
        Some((a, b)) => (a.min(lo), b.max(hi)),
    });
}

/// Steps that run at every pixel (the others run when a row starts or ends).
pub(crate) fn runs_per_pixel(s: Sched) -> bool {
    matches!(s, Sched::Parallel | Sched::LeftToRight)
}

/// The field under which `g`'s outputs in arithmetic `arith` can be remembered: where every
/// step that runs at each pixel has a one-call plan (what a hit replays is what the plans
/// computed) and [`Field::of`] has one.
pub(crate) fn field_for(g: &Graph, arith: Arith) -> Option<Field> {
    let plans = g
        .steps
        .iter()
        .zip(&g.chains)
        .all(|(s, ch)| !runs_per_pixel(s.sched()) || ch.is_some());
    if !matches!(arith, Arith::Fma(_)) || !plans {
        return None;
    }
    Field::of(g)
}

/// The outputs a step computes for channel group c (None: the whole pixel, as batch mode does).
pub(crate) fn units_of(g: &Graph, step: &Step, c: Option<usize>) -> std::ops::Range<usize> {
    match c {
        Some(c) => group_range(step.units(), g.groups, c),
        None => 0..step.units(),
    }
}

/// Writes the outputs `vals` of channel group c's steps (None: the whole pixel's; as
/// [`Memo::outputs`] holds them) at (y, x).
///
/// # Safety
/// As [`Step::write_shared`].
pub(crate) unsafe fn replay(g: &Graph, planes: &[Plane], (y, x): (usize, usize), c: Option<usize>, mut vals: &[f32]) {
    for step in g.steps.iter().filter(|s| runs_per_pixel(s.sched())) {
        let units = units_of(g, step, c);
        let (now, rest) = vals.split_at(units.len() * step.values());
        step.write_shared(planes, y, x, units, now);
        vals = rest;
    }
}

impl Field {
    /// The field of `g`'s outputs; None where outputs are not a function of a bounded
    /// neighbourhood computed by convolutions alone (recurrent layers, the gated PixelCNN's
    /// whole-row stack, a multi-scale model's conditioning map), or where it reaches beyond 255
    /// pixels.
    pub(crate) fn of(g: &Graph) -> Option<Field> {
        if g.cond.is_some() {
            return None;
        }
        let mut planes: Vec<Vec<Option<(isize, isize)>>> = vec![Vec::new(); g.plane_ch.len()];
        planes[g.image] = vec![Some((0, 0))];
        // Planes whose field is known: the image, and what the steps so far wrote.
        let mut known = vec![false; g.plane_ch.len()];
        known[g.image] = true;
        let mut all: Vec<Option<(isize, isize)>> = Vec::new();
        for step in &g.steps {
            let Step::Conv(op) = step else { return None };
            let taps = op
                .terms
                .iter()
                .flat_map(|(p, c)| (0..c.groups()).flat_map(move |k| c.taps_of(k)).map(move |t| (*p, t)));
            let inputs_known = op.terms.iter().map(|(p, _)| *p).chain(op.residual).all(|p| known[p]);
            if !inputs_known || taps.clone().any(|(_, t)| t.dy > 0) {
                return None;
            }
            let mut out: Vec<Option<(isize, isize)>> = Vec::new();
            let mut read = |src: &[Option<(isize, isize)>], dy: isize, dx: isize| {
                for (k, r) in src.iter().enumerate() {
                    if let Some((lo, hi)) = *r {
                        let k2 = k + (-dy) as usize;
                        if out.len() <= k2 {
                            out.resize(k2 + 1, None);
                        }
                        widen(&mut out[k2], lo + dx, hi + dx);
                    }
                }
            };
            for (p, t) in taps {
                read(&planes[p], t.dy, t.dx);
            }
            if let Some(r) = op.residual {
                read(&planes[r], 0, 0);
            }
            for p in [op.raw, op.relu].into_iter().flatten() {
                known[p] = true;
                for (k, r) in out.iter().enumerate() {
                    if planes[p].len() <= k {
                        planes[p].resize(k + 1, None);
                    }
                    if let Some((lo, hi)) = *r {
                        widen(&mut planes[p][k], lo, hi);
                    }
                }
            }
            for (k, r) in out.iter().enumerate() {
                if all.len() <= k {
                    all.resize(k + 1, None);
                }
                if let Some((lo, hi)) = *r {
                    widen(&mut all[k], lo, hi);
                }
            }
        }
        let current = all.first().copied().flatten().unwrap_or((0, 0));
        if current.1 > 0 {
            return None;
        }
        let left = all.iter().flatten().map(|r| -r.0).max().unwrap_or(0).max(0) as usize;
        let right = all.iter().flatten().map(|r| r.1).max().unwrap_or(0).max(0) as usize;
        if left > 255 || right > 255 || all.len() > 256 {
            return None;
        }
        Some(Field {
            rows: all,
            left,
            right,
            channels: g.channels,
            groups: g.groups,
        })
    }

    /// Rows of levels a key reads: the current row and those above it that the field reaches
    /// (a ring of this many rows is enough for one row at a time).
    pub(crate) fn ring(&self) -> usize {
        self.up() + 1
    }

    /// Rows up the field reaches.
    pub(crate) fn up(&self) -> usize {
        self.rows.len().saturating_sub(1)
    }

    /// The key of channel group c at (y, x) of a `width`-wide image into `key` (cleared first);
    /// `copy(y, j..k, key)` appends sub-pixels j..k of row y (j = x·C + c).
    pub(crate) fn key(
        &self,
        mut copy: impl FnMut(usize, std::ops::Range<usize>, &mut Vec<u8>),
        width: usize,
        (y, x, c): (usize, usize, usize),
        key: &mut Vec<u8>,
    ) {
        let channels = self.channels;
        // The current pixel's channels that group c sees: those of the groups before it.
        let earlier = group_range(channels, self.groups, c).start;
        key.clear();
        key.extend([
            c as u8,
            y.min(self.up()) as u8,
            x.min(self.left) as u8,
            (width - 1 - x).min(self.right) as u8,
        ]);
        for (k, r) in self.rows.iter().enumerate() {
            let (Some((lo, hi)), Some(yy)) = (*r, y.checked_sub(k)) else {
                continue;
            };
            let first = (x as isize + lo).max(0) as usize;
            let last = (x as isize + hi).min(width as isize - 1);
            if last < first as isize {
                continue;
            }
            let last = last as usize;
            // Row y ends at the current pixel's earlier channels (hi ≤ 0 there).
            let n = if k == 0 && last == x { earlier } else { channels };
            copy(yy, first * channels..last * channels + n, key);
        }
    }
}

/// Outputs of the steps a sub-pixel's group runs, remembered by key: one thread's table,
/// direct-mapped (a key's slot is its hash's; a new key replaces the old one). It switches
/// itself off where it does not pay (photos: almost no neighbourhood repeats) and probes again
/// now and then; what it does changes the time only, never a value.
pub(crate) struct Memo {
    field: Field,
    slots: usize,
    /// Longest key (bytes) and most values of one group's outputs.
    kmax: usize,
    vmax: usize,
    /// The softmax head's probabilities, after the outputs (0: the mixture head's are cheap to
    /// prepare again), and the floats of a slot.
    probs: usize,
    stride: usize,
    keys: Vec<u8>,
    klen: Vec<u32>,
    hash: Vec<u64>,
    vals: Vec<f32>,
    /// Look-ups and hits in the current probe, look-ups left to skip, and how many the next
    /// failed probe skips (doubling while probes keep failing).
    probe: (u32, u32),
    skip: u32,
    off: u32,
    /// Hits and look-ups since the start (for tests and `--verbose`).
    pub(crate) hits: u64,
    pub(crate) lookups: u64,
}

/// Look-ups per probe, the hits below which the memo switches off, and for how many look-ups
/// (at first, and at most after failed probes in a row).
/// A miss costs its key and a copy of the outputs into the table, about a tenth of what a hit
/// saves (the network of one group), so under one hit in ten the memo costs more than it gives.
const PROBE: u32 = 2048;
const MIN_HITS: u32 = PROBE / 10;
const OFF: u32 = 32 * 1024;
const MAX_OFF: u32 = 512 * 1024;

/// A 64-bit hash of the key (never 0: 0 marks an empty slot).
fn hash(key: &[u8]) -> u64 {
    let mut h = key.len() as u64;
    let mut chunks = key.chunks_exact(8);
    for ch in &mut chunks {
        let w = u64::from_le_bytes(ch.try_into().expect("8 bytes"));
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ b as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    (h ^ (h >> 29)) | 1
}

/// Where a key is: found in a slot, or not (the slot it would take).
pub(crate) enum Found {
    Hit(usize),
    Miss(usize),
}

impl Memo {
    /// An empty table of `slots` (a power of two) for `g`'s outputs, whose field is `field`: a
    /// channel group's at a time (incremental mode), or with `whole`, every group's at once
    /// (batch mode; keys then for the last group, which sees the most).
    pub(crate) fn new(g: &Graph, field: Field, slots: usize, whole: bool) -> Memo {
        assert!(slots.is_power_of_two());
        let kmax = 4 + field
            .rows
            .iter()
            .flatten()
            .map(|(lo, hi)| (hi - lo + 1) as usize * g.channels)
            .sum::<usize>();
        let vmax = match whole {
            true => Memo::values(g, None),
            false => (0..g.groups).map(|c| Memo::values(g, Some(c))).max().unwrap_or(0),
        };
        let probs = if g.mixture.is_none() && !whole { g.levels } else { 0 };
        let stride = vmax + probs;
        Memo {
            field,
            slots,
            kmax,
            vmax,
            probs,
            stride,
            keys: vec![0; slots * kmax],
            klen: vec![0; slots],
            hash: vec![0; slots],
            vals: vec![0.0; slots * stride],
            probe: (0, 0),
            skip: 0,
            off: OFF,
            hits: 0,
            lookups: 0,
        }
    }

    /// Values group c's steps (None: every group's) write at one position, in step order.
    fn values(g: &Graph, c: Option<usize>) -> usize {
        g.steps
            .iter()
            .filter(|s| runs_per_pixel(s.sched()))
            .map(|s| units_of(g, s, c).len() * s.values())
            .sum()
    }

    /// The field whose keys this table holds.
    pub(crate) fn field(&self) -> &Field {
        &self.field
    }

    /// Whether to look up the next `n` positions (false while switched off).
    pub(crate) fn active(&mut self, n: usize) -> bool {
        if self.skip > 0 {
            self.skip = self.skip.saturating_sub(n as u32);
            return false;
        }
        true
    }

    /// Looks `key` up.
    pub(crate) fn find(&mut self, key: &[u8]) -> Found {
        let h = hash(key);
        let slot = (h as usize) & (self.slots - 1);
        let hit = self.hash[slot] == h
            && self.klen[slot] as usize == key.len()
            && self.keys[slot * self.kmax..][..key.len()] == *key;
        self.lookups += 1;
        self.hits += hit as u64;
        self.probe.0 += 1;
        self.probe.1 += hit as u32;
        if self.probe.0 == PROBE {
            if self.probe.1 < MIN_HITS {
                self.skip = self.off;
                self.off = (self.off * 2).min(MAX_OFF);
            } else {
                self.off = OFF;
            }
            self.probe = (0, 0);
        }
        if hit {
            Found::Hit(slot)
        } else {
            Found::Miss(slot)
        }
    }

    /// The outputs remembered in `slot`.
    pub(crate) fn outputs(&self, slot: usize) -> &[f32] {
        &self.vals[slot * self.stride..][..self.vmax]
    }

    /// The softmax's probabilities remembered in `slot` (None with the mixture head).
    pub(crate) fn probs(&self, slot: usize) -> Option<&[f32]> {
        (self.probs > 0).then(|| &self.vals[slot * self.stride + self.vmax..][..self.probs])
    }

    /// Empties `slot` and returns its outputs to fill in; [`Memo::commit`] then stores its key.
    pub(crate) fn fill(&mut self, slot: usize) -> &mut [f32] {
        self.hash[slot] = 0;
        &mut self.vals[slot * self.stride..][..self.vmax]
    }

    /// Stores the softmax's probabilities `p` in `slot` (nothing with the mixture head).
    pub(crate) fn fill_probs(&mut self, slot: usize, p: &[f32]) {
        if self.probs > 0 {
            self.hash[slot] = 0;
            self.vals[slot * self.stride + self.vmax..][..self.probs].copy_from_slice(p);
        }
    }

    /// Stores `key` in `slot`, whose outputs are filled in.
    pub(crate) fn commit(&mut self, slot: usize, key: &[u8]) {
        debug_assert!(key.len() <= self.kmax);
        self.keys[slot * self.kmax..][..key.len()].copy_from_slice(key);
        self.klen[slot] = key.len() as u32;
        self.hash[slot] = hash(key);
    }
}

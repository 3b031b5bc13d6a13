//! Batch mode's blocks of positions with remembered outputs ([`crate::memo`]): the positions of
//! a block whose neighbourhood came before get every step's outputs copied, the others are
//! computed by the same `block` calls as without the memo, in runs of neighbouring positions.
//! Batch mode computes a pixel's channel groups at once, so a key is the last group's (which
//! sees the most) and a slot holds every group's outputs.

use crate::graph::Graph;
use crate::kernels::Arith;
use crate::layers::Plane;
use crate::memo::{replay, runs_per_pixel, Field, Found, Memo, SLOTS};

/// One thread's memo for batch mode, with the keys and the plan of the block in hand.
pub(crate) struct BlockMemo {
    memo: Memo,
    keys: Vec<Vec<u8>>,
    /// Per position of the block: found in this slot, or computed (and remembered in this slot
    /// if it is the first of the block to want it).
    hit: Vec<Option<usize>>,
    claim: Vec<Option<usize>>,
}

impl BlockMemo {
    /// A memo for `g`'s blocks, where its outputs can be remembered ([`crate::memo::field_for`]).
    pub(crate) fn new(g: &Graph, field: Field) -> BlockMemo {
        BlockMemo {
            memo: Memo::new(g, field, SLOTS, true),
            keys: Vec::new(),
            hit: Vec::new(),
            claim: Vec::new(),
        }
    }

    /// Whether to use the memo for the next block of `n` positions (false while it is switched
    /// off).
    pub(crate) fn active(&mut self, n: usize) -> bool {
        self.memo.active(n)
    }

    /// Look-ups and hits so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.memo.lookups, self.memo.hits)
    }

    /// Every step at positions (y, x0 + p), p < `np`, of an image of `width` × C `pixels`
    /// (row y's inputs in the image plane already): copied where remembered, else computed
    /// into `scratch` and written, as [`crate::step::Step::block`] and `write_shared` do.
    ///
    /// # Safety
    /// As the wave's block computation: positions (y, x0 ..) are this thread's and unpublished,
    /// and every input the steps read is final.
    pub(crate) unsafe fn run(
        &mut self,
        (g, arith, planes): (&Graph, Arith, &[Plane]),
        (pixels, width): (&[u8], usize),
        (y, x0, np): (usize, usize, usize),
        scratch: &mut [f32],
    ) {
        let c = g.groups - 1;
        self.keys.resize(np.max(self.keys.len()), Vec::new());
        self.hit.clear();
        self.claim.clear();
        for p in 0..np {
            let key = &mut self.keys[p];
            let row_len = width * g.channels;
            let copy =
                |yy: usize, r: std::ops::Range<usize>, k: &mut Vec<u8>| k.extend_from_slice(&pixels[yy * row_len..][r]);
            self.memo.field().key(copy, width, (y, x0 + p, c), key);
            match self.memo.find(key) {
                Found::Hit(slot) => {
                    self.hit.push(Some(slot));
                    self.claim.push(None);
                }
                Found::Miss(slot) => {
                    let first = !self.claim.contains(&Some(slot));
                    self.hit.push(None);
                    self.claim.push(first.then_some(slot));
                }
            }
        }
        // Copies first: a computed position may read a remembered one to its left.
        for (p, hit) in self.hit.iter().enumerate() {
            if let Some(slot) = *hit {
                replay(g, planes, (y, x0 + p), None, self.memo.outputs(slot));
            }
        }
        let mut off = 0;
        for step in g.steps.iter().filter(|s| runs_per_pixel(s.sched())) {
            let units = step.units();
            let per = units * step.values();
            let mut p = 0;
            while p < np {
                if self.hit[p].is_some() {
                    p += 1;
                    continue;
                }
                let end = (p..np).find(|&q| self.hit[q].is_some()).unwrap_or(np);
                let out = &mut scratch[..(end - p) * per];
                step.block(arith, planes, (y, x0 + p, end - p), 0..units, out, per);
                for (q, o) in (p..end).zip(out.chunks_exact(per)) {
                    step.write_shared(planes, y, x0 + q, 0..units, o);
                    if let Some(slot) = self.claim[q] {
                        self.memo.fill(slot)[off..off + per].copy_from_slice(o);
                    }
                }
                p = end;
            }
            off += per;
        }
        for (p, claim) in self.claim.iter().enumerate() {
            if let Some(slot) = *claim {
                self.memo.commit(slot, &self.keys[p]);
            }
        }
    }
}

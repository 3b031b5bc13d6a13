//! Incremental mode of an engine graph: one sub-pixel at a time, for decoding and sampling.

use crate::config::group_range;
use crate::dist::Dist;
use crate::fmath::softmax;
use crate::graph::{Graph, Sched};
use crate::kernels::Arith;
use crate::layers::Plane;
use crate::memo::{field_for, replay, Found, Memo, SLOTS};
use crate::mixture::{MixCdf, PixelMixture};
use crate::multiscale::CondMap;

/// Incremental mode: call [`Session::next`] for the next sub-pixel's distribution, then
/// [`Session::push`] its value; each step evaluates one position of every layer for one channel
/// group (the groups that can see the new sub-pixel), reusing everything computed before. With
/// the mixture head (one group) the network runs once per pixel, at its first sub-pixel.
pub struct Session<'g> {
    g: &'g Graph,
    arith: Arith,
    width: usize,
    height: usize,
    planes: Vec<Plane>,
    y: usize,
    x: usize,
    c: usize,
    computed: bool,
    scratch: Vec<f32>,
    cond: Option<CondMap<'g>>,
    dist: PixelDist<'g>,
    /// Remembered outputs ([`crate::memo`]; None where the model's cannot be), the image's
    /// levels for its keys, and the key.
    memo: Option<Memo>,
    pixels: Vec<u8>,
    key: Vec<u8>,
    /// The one channel whose distributions are wanted ([`Session::only`]), or None for all.
    only: Option<usize>,
}

/// What one sub-pixel's distribution is made from, shared by [`Session`] and the rows decoded
/// side by side ([`crate::rows`]): the softmax's probabilities, or the pixel's mixture state
/// and the channel's lazy CDF (the parameters stay in the output plane until the next pixel).
pub(crate) struct PixelDist<'g> {
    g: &'g Graph,
    probs: Vec<f32>,
    /// Gathered inputs of a convolution's one-call plan.
    gather: Vec<f32>,
    mix: Option<PixelMixture>,
    cdf: Option<MixCdf<'g>>,
}

impl<'g> PixelDist<'g> {
    pub(crate) fn new(g: &'g Graph) -> Self {
        PixelDist {
            g,
            probs: vec![0.0; g.levels],
            gather: Vec::new(),
            mix: None,
            cdf: None,
        }
    }

    /// Runs the steps of channel group `c` at (y, x) (once per group: sub-pixels beyond the
    /// groups reuse them) and prepares sub-pixel c's distribution from the outputs; copies the
    /// group's outputs, in step order, into `remember` if given ([`crate::memo`]). Where `skip`
    /// ([`Graph::skips`]), the logits step and the distribution are left out (what `remember`
    /// would hold of the logits is left as it was: nothing reads it).
    ///
    /// # Safety
    /// As [`crate::graph::Step::run_shared`] for every step run.
    pub(crate) unsafe fn compute(
        &mut self,
        arith: Arith,
        planes: &[Plane],
        (y, x, c): (usize, usize, usize),
        scratch: &mut [f32],
        mut remember: Option<&mut [f32]>,
        skip: bool,
    ) {
        let g = self.g;
        let mut off = 0;
        if c < g.groups {
            for (step, chain) in g.steps.iter().zip(&g.chains) {
                if matches!(step.sched(), Sched::Parallel | Sched::LeftToRight) {
                    if skip && g.writes_logits(step) {
                        off += group_range(step.units(), g.groups, c).len();
                        continue;
                    }
                    match (arith, chain) {
                        // A convolution's group c in one kernel call ([`crate::chain`]).
                        (Arith::Fma(isa), Some(chain)) => {
                            let r = chain.run(isa, planes, (y, x), c, &mut self.gather, scratch);
                            let n = r.len();
                            step.write_shared(planes, y, x, r, &scratch[..n]);
                            if let Some(vals) = remember.as_deref_mut() {
                                vals[off..off + n].copy_from_slice(&scratch[..n]);
                            }
                            off += n;
                        }
                        _ => {
                            debug_assert!(remember.is_none(), "outputs remembered only from plans");
                            let r = group_range(step.units(), g.groups, c);
                            step.run_shared(arith, planes, y, x, r, scratch);
                        }
                    }
                }
            }
        }
        if !skip {
            self.prepare(planes, (y, x, c));
        }
    }

    /// Prepares sub-pixel c's distribution from the outputs at (y, x) (computed already).
    pub(crate) fn prepare(&mut self, planes: &[Plane], (y, x, c): (usize, usize, usize)) {
        let g = self.g;
        let out = planes[g.logits].at(y, x);
        match &g.mixture {
            None => softmax(&out[c * g.levels..(c + 1) * g.levels], &mut self.probs),
            Some((layout, edges)) => {
                if c == 0 {
                    self.mix = Some(PixelMixture::new(*layout, out));
                }
                let mix = self.mix.as_ref().expect("set at channel 0");
                self.cdf = Some(mix.channel(out, c, edges));
            }
        }
    }

    /// Prepares sub-pixel c's distribution at (y, x) from the softmax's probabilities `probs`
    /// remembered from an earlier position with the same outputs, or from the outputs.
    pub(crate) fn prepare_from(&mut self, planes: &[Plane], pos: (usize, usize, usize), probs: Option<&[f32]>) {
        match probs {
            Some(p) if self.g.mixture.is_none() => self.probs.copy_from_slice(p),
            _ => self.prepare(planes, pos),
        }
    }

    /// The softmax's probabilities as prepared last (the mixture head's are not kept here).
    pub(crate) fn probs(&self) -> &[f32] {
        &self.probs
    }

    /// The distribution [`PixelDist::compute`] prepared.
    pub(crate) fn dist(&self) -> Dist<'_> {
        match &self.cdf {
            Some(cdf) if self.g.mixture.is_some() => Dist::Mixture(cdf),
            _ => Dist::Probs(&self.probs),
        }
    }

    /// Records sub-pixel c's level `v` (the mixture's later channels depend on it).
    pub(crate) fn observe(&mut self, c: usize, v: usize) {
        if let (Some(mix), Some(cdf)) = (&mut self.mix, &self.cdf) {
            mix.observe(cdf, c, v, self.g.scale()[v]);
        }
    }
}

impl<'g> Session<'g> {
    /// A session at the first sub-pixel; `cond` already checked against the graph.
    pub(crate) fn new(
        g: &'g Graph,
        arith: Arith,
        width: usize,
        height: usize,
        cond: Option<CondMap<'g>>,
    ) -> Session<'g> {
        let mut s = Session {
            g,
            arith,
            width,
            height,
            planes: g.planes(width, height),
            y: 0,
            x: 0,
            c: 0,
            computed: false,
            scratch: g.scratch(),
            cond: None,
            dist: PixelDist::new(g),
            memo: None,
            pixels: Vec::new(),
            key: Vec::new(),
            only: None,
        };
        if cond.is_none() {
            if let Some(f) = field_for(g, arith) {
                s.pixels = vec![0; f.ring() * width * g.channels];
                s.memo = Some(Memo::new(g, f, SLOTS, false));
            }
        }
        s.cond = cond;
        s.start_row();
        s
    }

    /// Only channel `c`'s distributions will be read (the alpha split's alpha model codes its
    /// alpha alone): the others' logits and softmax are not computed, and what
    /// [`Session::next_dist`] returns for them is meaningless. Every channel's features are
    /// computed as before, so channel c's distributions keep their bits.
    pub fn only(mut self, c: usize) -> Self {
        self.only = Some(c);
        self
    }

    /// The next sub-pixel: (row, column, channel).
    pub fn position(&self) -> (usize, usize, usize) {
        (self.y, self.x, self.c)
    }

    /// Fills the conditioning plane's row for the row about to start, and runs the steps that
    /// depend on rows above only ([`Sched::RowStart`]) over the whole row.
    fn start_row(&mut self) {
        if self.y >= self.height {
            return;
        }
        if let (Some(p), Some(cm)) = (self.g.cond, &mut self.cond) {
            cm.row(self.y, self.planes[p].row_mut(self.y));
        }
        for step in &self.g.steps {
            if step.sched() == Sched::RowStart {
                for x in 0..self.width {
                    step.run(
                        self.arith,
                        &mut self.planes,
                        self.y,
                        x,
                        0..step.units(),
                        &mut self.scratch,
                    );
                }
            }
        }
    }

    /// True once every sub-pixel has been pushed.
    pub fn done(&self) -> bool {
        self.y >= self.height
    }

    /// The distribution of the next sub-pixel.
    pub fn next_dist(&mut self) -> Dist<'_> {
        assert!(!self.done(), "next() after the last sub-pixel");
        if !self.computed {
            self.compute();
            self.computed = true;
        }
        self.dist.dist()
    }

    /// Computes the next sub-pixel's group (or copies what the memo remembers of it) and
    /// prepares its distribution.
    fn compute(&mut self) {
        let pos = (self.y, self.x, self.c);
        let skip = self.g.skips(self.only, pos.2);
        let on = pos.2 < self.g.groups && self.memo.as_mut().is_some_and(|m| m.active(1));
        // SAFETY (every block): the session owns its planes (no other reference exists).
        match self.memo.as_mut().filter(|_| on) {
            Some(m) => {
                let (px, row_len, ring) = (&self.pixels, self.width * self.g.channels, m.field().ring());
                let copy = |yy: usize, r: std::ops::Range<usize>, k: &mut Vec<u8>| {
                    k.extend_from_slice(&px[(yy % ring) * row_len..][r])
                };
                m.field().key(copy, self.width, pos, &mut self.key);
                match m.find(&self.key) {
                    Found::Hit(slot) => {
                        unsafe { replay(self.g, &self.planes, (pos.0, pos.1), Some(pos.2), m.outputs(slot)) };
                        if !skip {
                            self.dist.prepare_from(&self.planes, pos, m.probs(slot));
                        }
                    }
                    Found::Miss(slot) => {
                        let vals = Some(m.fill(slot));
                        unsafe {
                            self.dist
                                .compute(self.arith, &self.planes, pos, &mut self.scratch, vals, skip)
                        };
                        m.fill_probs(slot, self.dist.probs());
                        m.commit(slot, &self.key);
                    }
                }
            }
            None => unsafe {
                self.dist
                    .compute(self.arith, &self.planes, pos, &mut self.scratch, None, skip)
            },
        }
    }

    /// Computes every output instead of remembering any ([`crate::memo`]; the same bits).
    pub fn forget(&mut self) {
        self.memo = None;
        self.pixels = Vec::new();
    }

    /// Look-ups of remembered outputs so far and how many found them.
    pub fn remembered(&self) -> (u64, u64) {
        self.memo.as_ref().map_or((0, 0), |m| (m.lookups, m.hits))
    }

    /// The distribution of the next sub-pixel as `levels` probabilities (the mixture head's
    /// quantised ones), written into `probs`.
    pub fn distribution(&mut self, probs: &mut [f32]) {
        self.next_dist().probs_into(probs);
    }

    /// Records the value of the next sub-pixel and advances.
    pub fn push(&mut self, value: u8) {
        assert!(!self.done(), "push() after the last sub-pixel");
        if !self.computed {
            self.next_dist();
        }
        let v = (value as usize).min(self.g.levels - 1);
        self.dist.observe(self.c, v);
        if let Some(m) = &self.memo {
            let y = self.y % m.field().ring();
            self.pixels[(y * self.width + self.x) * self.g.channels + self.c] = v as u8;
        }
        self.planes[self.g.image].at_mut(self.y, self.x)[self.c] = self.g.scale()[v];
        self.computed = false;
        self.c += 1;
        if self.c == self.g.channels {
            self.c = 0;
            self.x += 1;
            if self.x == self.width {
                self.finish_row();
                self.x = 0;
                self.y += 1;
                self.start_row();
            }
        }
    }

    /// Runs the row-end steps (the Diagonal BiLSTM's backward direction) over the finished row.
    fn finish_row(&mut self) {
        for step in &self.g.steps {
            if step.sched() == Sched::RowEnd {
                for x in (0..self.width).rev() {
                    step.run(
                        self.arith,
                        &mut self.planes,
                        self.y,
                        x,
                        0..step.units(),
                        &mut self.scratch,
                    );
                }
            }
        }
    }
}

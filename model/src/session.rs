//! Incremental mode of an engine graph: one sub-pixel at a time, for decoding and sampling.

use crate::config::group_range;
use crate::dist::Dist;
use crate::fmath::softmax;
use crate::graph::{Graph, Sched};
use crate::kernels::Arith;
use crate::layers::Plane;
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
    probs: Vec<f32>,
    /// The current pixel's mixture state (mixture head); its parameters stay in the output
    /// plane until the next pixel.
    mix: Option<PixelMixture>,
    cdf: Option<MixCdf<'g>>,
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
            cond,
            probs: vec![0.0; g.levels],
            mix: None,
            cdf: None,
        };
        s.start_row();
        s
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
        let (g, y, x, c) = (self.g, self.y, self.x, self.c);
        if !self.computed {
            if c < g.groups {
                for step in &g.steps {
                    if matches!(step.sched(), Sched::Parallel | Sched::LeftToRight) {
                        let r = group_range(step.units(), g.groups, c);
                        step.run(self.arith, &mut self.planes, y, x, r, &mut self.scratch);
                    }
                }
            }
            match &g.mixture {
                None => {
                    let l = &self.planes[g.logits].at(y, x)[c * g.levels..(c + 1) * g.levels];
                    softmax(l, &mut self.probs);
                }
                Some((layout, edges)) => {
                    let params = self.planes[g.logits].at(y, x);
                    if c == 0 {
                        self.mix = Some(PixelMixture::new(*layout, params));
                    }
                    let mix = self.mix.as_ref().expect("set at channel 0");
                    self.cdf = Some(mix.channel(params, c, edges));
                }
            }
            self.computed = true;
        }
        match &self.cdf {
            Some(cdf) if g.mixture.is_some() => Dist::Mixture(cdf),
            _ => Dist::Probs(&self.probs),
        }
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
        if let (Some(mix), Some(cdf)) = (&mut self.mix, &self.cdf) {
            mix.observe(cdf, self.c, v, self.g.scale()[v]);
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

//! Incremental mode of an engine graph: one sub-pixel at a time, for decoding and sampling.

use crate::config::group_range;
use crate::fmath::softmax;
use crate::graph::{Graph, Sched};
use crate::layers::Plane;
use crate::multiscale::CondMap;

/// Incremental mode: call [`Session::distribution`] for the next sub-pixel, then
/// [`Session::push`] its value; each step evaluates one position of every layer for one channel
/// group (the groups that can see the new sub-pixel), reusing everything computed before.
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
    cond: Option<CondMap<'g>>,
}

impl<'g> Session<'g> {
    /// A session at the first sub-pixel; `cond` already checked against the graph.
    pub(crate) fn new(g: &'g Graph, width: usize, height: usize, cond: Option<CondMap<'g>>) -> Session<'g> {
        let mut s = Session {
            g,
            width,
            height,
            planes: g.planes(width, height),
            y: 0,
            x: 0,
            c: 0,
            computed: false,
            scratch: g.scratch(),
            cond,
        };
        s.start_row();
        s
    }

    /// The next sub-pixel: (row, column, channel).
    pub fn position(&self) -> (usize, usize, usize) {
        (self.y, self.x, self.c)
    }

    /// Fills the conditioning plane's row for the row about to start.
    fn start_row(&mut self) {
        if let (Some(p), Some(cm)) = (self.g.cond, &mut self.cond) {
            if self.y < self.height {
                cm.row(self.y, self.planes[p].row_mut(self.y));
            }
        }
    }

    /// True once every sub-pixel has been pushed.
    pub fn done(&self) -> bool {
        self.y >= self.height
    }

    /// The distribution of the next sub-pixel, written into `probs` (`levels` values).
    pub fn distribution(&mut self, probs: &mut [f32]) {
        assert!(!self.done(), "distribution() after the last sub-pixel");
        let (g, y, x, c) = (self.g, self.y, self.x, self.c);
        for step in &g.steps {
            if step.sched() != Sched::RowEnd {
                let r = group_range(step.units(), g.channels, c);
                step.run(&mut self.planes, y, x, r, &mut self.scratch);
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
                    step.run(&mut self.planes, self.y, x, 0..step.units(), &mut self.scratch);
                }
            }
        }
    }
}

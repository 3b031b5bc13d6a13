//! The alpha split's incremental forms, for decoding: one sub-pixel at a time in sequence or
//! along one row, and rows in step. The alpha model is fed (and so computes the features of)
//! every sub-pixel; it computes the distribution of the alpha alone (`only`).

use std::ops::Range;

use pixelrnn_model::Dist;

use crate::model::{RowGroupModel, RowModel, RowSequential, SequentialModel};

/// The alpha model's incremental form, one sub-pixel at a time, as the sequential session
/// and a row of the rows side by side both give it: `next` (None once aborted), then `push`.
pub(crate) trait Incremental {
    fn next(&mut self) -> Option<Dist<'_>>;
    fn push(&mut self, value: u8);
}

impl Incremental for Box<dyn SequentialModel + '_> {
    fn next(&mut self) -> Option<Dist<'_>> {
        Some(self.next_dist())
    }
    fn push(&mut self, value: u8) {
        SequentialModel::push(&mut **self, value)
    }
}

impl Incremental for Box<dyn RowSequential + '_> {
    fn next(&mut self) -> Option<Dist<'_>> {
        self.next_dist()
    }
    fn push(&mut self, value: u8) {
        RowSequential::push(&mut **self, value)
    }
}

/// One sub-pixel at a time, in sequence or along one row: the colour model's, then the alpha
/// model's alpha; the alpha model is fed (and so computes) every sub-pixel.
pub(crate) struct Split<S> {
    pub(crate) colour: S,
    pub(crate) alpha: S,
    pub(crate) cc: usize,
    pub(crate) c: usize,
}

impl<S: Incremental> Split<S> {
    fn next(&mut self) -> Option<Dist<'_>> {
        self.alpha.next()?;
        if self.c == self.cc {
            self.alpha.next()
        } else {
            self.colour.next()
        }
    }

    fn push(&mut self, value: u8) {
        if self.c == self.cc {
            self.c = 0;
        } else {
            self.colour.push(value);
            self.c += 1;
        }
        self.alpha.push(value);
    }
}

impl SequentialModel for Split<Box<dyn SequentialModel + '_>> {
    fn next_dist(&mut self) -> Dist<'_> {
        self.next().expect("a sequential model never aborts")
    }

    fn push(&mut self, value: u8) {
        Split::push(self, value)
    }
}

impl RowSequential for Split<Box<dyn RowSequential + '_>> {
    fn next_dist(&mut self) -> Option<Dist<'_>> {
        self.next()
    }

    fn push(&mut self, value: u8) {
        Split::push(self, value)
    }
}

/// Rows side by side: the colour model's and the alpha model's, in step.
pub(crate) struct SplitRows<'a> {
    pub(crate) colour: Box<dyn RowModel + 'a>,
    pub(crate) alpha: Box<dyn RowModel + 'a>,
    pub(crate) cc: usize,
}

impl RowModel for SplitRows<'_> {
    fn row<'b>(&'b self, y: usize) -> Box<dyn RowSequential + 'b> {
        Box::new(Split {
            colour: self.colour.row(y),
            alpha: self.alpha.row(y),
            cc: self.cc,
            c: 0,
        })
    }

    fn group<'b>(&'b self, ys: &[usize], lag: usize) -> Box<dyn RowGroupModel + Send + 'b> {
        Box::new(SplitGroup {
            colour: self.colour.group(ys, lag),
            alpha: self.alpha.group(ys, lag),
            cc: self.cc,
            c: 0,
            computed: false,
        })
    }

    fn lag(&self) -> usize {
        self.colour.lag().max(self.alpha.lag())
    }

    fn abort(&self) {
        self.colour.abort();
        self.alpha.abort();
    }
}

/// Rows in step: the colour model's group steps through the colour sub-pixels, the alpha
/// model's through every sub-pixel; with the same rows and lag they are active together.
struct SplitGroup<'a> {
    colour: Box<dyn RowGroupModel + Send + 'a>,
    alpha: Box<dyn RowGroupModel + Send + 'a>,
    cc: usize,
    c: usize,
    computed: bool,
}

impl RowGroupModel for SplitGroup<'_> {
    fn step(&mut self) -> Option<Range<usize>> {
        if self.computed {
            self.c = (self.c + 1) % (self.cc + 1);
        }
        self.computed = true;
        let active = self.alpha.step()?;
        if self.c < self.cc && !active.is_empty() {
            let colour = self.colour.step()?;
            debug_assert_eq!(colour, active);
        }
        Some(active)
    }

    fn position(&self, j: usize) -> (usize, usize, usize) {
        self.alpha.position(j)
    }

    fn dist(&self, j: usize) -> Dist<'_> {
        if self.c == self.cc {
            self.alpha.dist(j)
        } else {
            self.colour.dist(j)
        }
    }

    fn push(&mut self, j: usize, value: u8) {
        if self.c < self.cc {
            self.colour.push(j, value);
        }
        self.alpha.push(j, value);
    }
}

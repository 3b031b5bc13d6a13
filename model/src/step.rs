//! One layer of the engine graph ([`Step`]): when it runs within a row ([`Sched`]), how it
//! computes a block of positions in either arithmetic, and how it stores what it computed, in
//! planes it owns or shares with threads decoding other rows ([`crate::rows`]).

use std::ops::Range;

use crate::gated::GatedOp;
use crate::kernels::Arith;
use crate::layers::{Op, Plane};
use crate::recurrent::{DiagLstmOp, RowLstmOp};

#[inline]
pub(crate) fn relu(v: f32) -> f32 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

/// When a step runs within a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sched {
    /// Positions of a row are independent: any order, in parallel.
    Parallel,
    /// Left to right; in incremental mode as each pixel arrives.
    LeftToRight,
    /// Right to left once the row's input is complete; its results are read one row later.
    RowEnd,
    /// Depends on rows above only: in incremental mode the whole row is computed when it
    /// starts (the gated PixelCNN's vertical stack); any order, in parallel, in batch mode.
    RowStart,
}

/// One layer of the graph.
#[derive(Clone, Debug)]
pub enum Step {
    Conv(Op),
    RowLstm(RowLstmOp),
    Diag(DiagLstmOp),
    Gated(GatedOp),
}

impl Step {
    /// Output units (features of the output plane(s)).
    pub fn units(&self) -> usize {
        match self {
            Step::Conv(op) => op.cout,
            Step::RowLstm(RowLstmOp { p }) | Step::Diag(DiagLstmOp { p, .. }) => p.hidden(),
            Step::Gated(op) => op.hidden,
        }
    }

    /// Values per unit that `block` computes (conv: 1; gated: f, g and the output; LSTM: h, c
    /// and four gates of workspace).
    pub(crate) fn values(&self) -> usize {
        match self {
            Step::Conv(_) => 1,
            Step::Gated(_) => 3,
            // h and c, then the four gates as the fused arithmetic's workspace.
            Step::RowLstm(_) | Step::Diag(_) => 6,
        }
    }

    pub fn sched(&self) -> Sched {
        match self {
            Step::Conv(_) | Step::RowLstm(_) => Sched::Parallel,
            Step::Gated(op) if op.vertical => Sched::RowStart,
            Step::Gated(_) => Sched::Parallel,
            Step::Diag(op) if op.reverse => Sched::RowEnd,
            Step::Diag(_) => Sched::LeftToRight,
        }
    }

    /// (plane, rows above the current one that are read) for every input.
    pub(crate) fn reads(&self) -> Vec<(usize, usize)> {
        match self {
            Step::Conv(op) => {
                let mut v: Vec<_> = op.terms.iter().map(|(p, c)| (*p, c.up)).collect();
                v.extend(op.residual.map(|r| (r, 0)));
                v
            }
            Step::RowLstm(RowLstmOp { p }) | Step::Diag(DiagLstmOp { p, .. }) => vec![(p.src, 0), (p.h, 1), (p.c, 1)],
            Step::Gated(op) => op.terms.iter().map(|(p, c)| (*p, c.up)).collect(),
        }
    }

    /// Computes `units` at (y, x0 + p), p < `np` (at most [`crate::fused::MAX_POSITIONS`]), into
    /// `out[p·ld ..]` (`units.len()` × [`Step::values`] each).
    #[inline]
    pub(crate) fn block(
        &self,
        arith: Arith,
        planes: &[Plane],
        pos: (usize, usize, usize),
        units: Range<usize>,
        out: &mut [f32],
        ld: usize,
    ) {
        let (y, x0, np) = pos;
        match self {
            Step::Conv(op) => op.block(arith, planes, pos, units, out, ld),
            Step::Gated(op) => op.block(arith, planes, pos, units, out, ld),
            Step::RowLstm(op) => {
                (0..np).for_each(|p| op.point(arith, planes, y, x0 + p, units.clone(), &mut out[p * ld..]))
            }
            Step::Diag(op) => {
                (0..np).for_each(|p| op.point(arith, planes, y, x0 + p, units.clone(), &mut out[p * ld..]))
            }
        }
    }

    /// Stores what `block` computed for `units` at (y, x).
    #[inline]
    pub(crate) fn write(&self, planes: &mut [Plane], y: usize, x: usize, units: Range<usize>, out: &[f32]) {
        // SAFETY: `&mut` access is exclusive.
        unsafe { self.write_shared(planes, y, x, units, out) }
    }

    /// [`Step::write`] through shared planes.
    ///
    /// # Safety
    /// No other thread reads or writes position (y, x) of the step's output planes meanwhile.
    #[inline]
    pub(crate) unsafe fn write_shared(&self, planes: &[Plane], y: usize, x: usize, units: Range<usize>, out: &[f32]) {
        let n = units.len();
        match self {
            Step::Conv(op) => {
                if let Some(p) = op.raw {
                    planes[p].at_shared_mut(y, x)[units.clone()].copy_from_slice(&out[..n]);
                }
                if let Some(p) = op.relu {
                    for (d, &v) in planes[p].at_shared_mut(y, x)[units].iter_mut().zip(out) {
                        *d = relu(v);
                    }
                }
            }
            Step::RowLstm(RowLstmOp { p }) | Step::Diag(DiagLstmOp { p, .. }) => {
                planes[p.h].at_shared_mut(y, x)[units.clone()].copy_from_slice(&out[..n]);
                planes[p.c].at_shared_mut(y, x)[units].copy_from_slice(&out[n..2 * n]);
            }
            Step::Gated(op) => op.write_shared(planes, y, x, units, out),
        }
    }

    /// Computes and stores `units` at (y, x).
    #[inline]
    pub(crate) fn run(
        &self,
        arith: Arith,
        planes: &mut [Plane],
        y: usize,
        x: usize,
        units: Range<usize>,
        scratch: &mut [f32],
    ) {
        // SAFETY: `&mut` access is exclusive.
        unsafe { self.run_shared(arith, planes, y, x, units, scratch) }
    }

    /// [`Step::run`] through shared planes.
    ///
    /// # Safety
    /// As [`Step::write_shared`]; and every input the step reads at (y, x) is final and not
    /// written meanwhile.
    #[inline]
    pub(crate) unsafe fn run_shared(
        &self,
        arith: Arith,
        planes: &[Plane],
        y: usize,
        x: usize,
        units: Range<usize>,
        scratch: &mut [f32],
    ) {
        let ld = units.len() * self.values();
        let out = &mut scratch[..ld];
        self.block(arith, planes, (y, x, 1), units.clone(), out, ld);
        self.write_shared(planes, y, x, units, out);
    }

    /// How far right of the current column the step reads rows above (the lag a row decoded
    /// beside the row above must keep); None for steps that need whole rows (the gated
    /// PixelCNN's vertical stack, the Diagonal BiLSTM).
    pub(crate) fn reach(&self) -> Option<usize> {
        match self {
            Step::Conv(op) => Some(op.terms.iter().map(|(_, c)| c.reach()).max().unwrap_or(0)),
            Step::Gated(op) if !op.vertical => Some(op.terms.iter().map(|(_, c)| c.reach()).max().unwrap_or(0)),
            Step::RowLstm(_) => Some(1),
            Step::Gated(_) | Step::Diag(_) => None,
        }
    }
}

impl From<Op> for Step {
    fn from(op: Op) -> Step {
        Step::Conv(op)
    }
}

impl From<RowLstmOp> for Step {
    fn from(op: RowLstmOp) -> Step {
        Step::RowLstm(op)
    }
}

impl From<GatedOp> for Step {
    fn from(op: GatedOp) -> Step {
        Step::Gated(op)
    }
}

impl From<DiagLstmOp> for Step {
    fn from(op: DiagLstmOp) -> Step {
        Step::Diag(op)
    }
}

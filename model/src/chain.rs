//! Incremental mode's plan for a convolution layer ([`Op`]) in format 3's arithmetic: for each
//! channel group, every input its outputs read, in the order of [`crate::fused`] (every term's
//! off-centre taps, then each input group's centre inputs of every term), as one list of
//! segments with one packed matrix. A sub-pixel's group is then one kernel call per segment on
//! its inputs where they lie in the plane (merged taps together) instead of one call per term,
//! phase and tap: each output still takes the same terms in the same order, accumulated in
//! place, so the bits are those of [`Op::block`].

use std::ops::Range;

use crate::config::{group_of, group_range};
use crate::kernels::{fma_block, Isa};
use crate::layers::{Op, Plane};

/// A run of one tap's inputs: `plane` at (y + dy, x + dx), features `inputs`; or, with
/// `count` > 1, of `count` taps side by side on one row each reading every feature (contiguous
/// in the plane, so read in place as one run when all are inside the image).
#[derive(Clone, Debug)]
struct Seg {
    plane: usize,
    dy: isize,
    dx: isize,
    count: usize,
    inputs: Range<usize>,
}

/// Merges segments of neighbouring taps on one row that read all of a plane's `ch` features.
fn merge(segs: Vec<Seg>, ch: impl Fn(usize) -> usize) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::with_capacity(segs.len());
    for s in segs {
        let full = |s: &Seg| s.inputs == (0..ch(s.plane));
        if let Some(last) = out.last_mut() {
            let next = last.plane == s.plane && last.dy == s.dy && last.dx + last.count as isize == s.dx;
            if next && full(last) && full(&s) {
                last.count += 1;
                continue;
            }
        }
        out.push(s);
    }
    out
}

/// One channel group's outputs `outs`: the segments they read and the matrix (`k × n`,
/// row-major, one row per gathered input).
#[derive(Clone, Debug)]
struct GroupChain {
    outs: Range<usize>,
    segs: Vec<Seg>,
    k: usize,
    w: Vec<f32>,
}

/// The plan of one layer.
#[derive(Clone, Debug)]
pub(crate) struct OpChain {
    groups: Vec<GroupChain>,
    bias: Vec<f32>,
    residual: Option<usize>,
}

impl OpChain {
    /// The plan of `op` for `groups` channel groups; None unless every term splits its
    /// outputs into the contiguous groups of [`group_range`].
    pub(crate) fn new(op: &Op, groups: usize) -> Option<OpChain> {
        let n = op.cout;
        let fits = op
            .terms
            .iter()
            .all(|(_, c)| c.cout == n && c.groups() == groups && (0..n).all(|o| c.group(o) == group_of(o, n, groups)));
        if !fits {
            return None;
        }
        let is_centre = |dy: isize, dx: isize| dy == 0 && dx == 0;
        let mut plan = Vec::with_capacity(groups);
        for g in 0..groups {
            let outs = group_range(n, groups, g);
            // (term, first weight of the tap in the term's per-output packing, segment).
            let mut order: Vec<(usize, usize, Seg)> = Vec::new();
            let start_of = |t: usize, j: usize| op.terms[t].1.taps_of(g)[..j].iter().map(|t| t.n_in).sum::<usize>();
            for (t, (plane, conv)) in op.terms.iter().enumerate() {
                for (j, tap) in conv.taps_of(g).iter().enumerate() {
                    if !is_centre(tap.dy, tap.dx) {
                        let seg = Seg {
                            plane: *plane,
                            dy: tap.dy,
                            dx: tap.dx,
                            count: 1,
                            inputs: 0..tap.n_in,
                        };
                        order.push((t, start_of(t, j), seg));
                    }
                }
            }
            for ig in 0..groups {
                for (t, (plane, conv)) in op.terms.iter().enumerate() {
                    for (j, tap) in conv.taps_of(g).iter().enumerate() {
                        let r = group_range(conv.cin, groups, ig);
                        let inputs = r.start.min(tap.n_in)..r.end.min(tap.n_in);
                        if is_centre(tap.dy, tap.dx) && !inputs.is_empty() {
                            let seg = Seg {
                                plane: *plane,
                                dy: 0,
                                dx: 0,
                                count: 1,
                                inputs,
                            };
                            order.push((t, start_of(t, j), seg));
                        }
                    }
                }
            }
            let k = order.iter().map(|(_, _, s)| s.inputs.len()).sum();
            let mut w = Vec::with_capacity(k * outs.len());
            for (t, start, seg) in &order {
                for i in seg.inputs.clone() {
                    w.extend(outs.clone().map(|o| op.terms[*t].1.weights_of(o)[start + i]));
                }
            }
            let segs = merge(order.into_iter().map(|(_, _, s)| s).collect(), |p| {
                op.terms.iter().find(|(q, _)| *q == p).map_or(0, |(_, c)| c.cin)
            });
            plan.push(GroupChain { outs, segs, k, w });
        }
        Some(OpChain {
            groups: plan,
            bias: op.bias.clone(),
            residual: op.residual,
        })
    }

    /// Group c's outputs at (y, x) into `out` (their number; bias, every term, residual):
    /// [`Op::block`]'s values. `gather` is scratch for the inputs.
    pub(crate) fn run(
        &self,
        isa: Isa,
        planes: &[Plane],
        (y, x): (usize, usize),
        c: usize,
        gather: &mut Vec<f32>,
        out: &mut [f32],
    ) -> Range<usize> {
        self.run_many(isa, planes, &[(y, x)], c, std::slice::from_mut(gather), out)
    }

    /// As [`OpChain::run`] at several positions at once (at most [`MAX_GROUP`]), each in
    /// its own `gathers[i]`, position i's outputs at `out[i·n..]` (n outputs): one pass over
    /// the weights for all of them, the same bits as one call each.
    pub(crate) fn run_many(
        &self,
        isa: Isa,
        planes: &[Plane],
        pos: &[(usize, usize)],
        c: usize,
        gathers: &mut [Vec<f32>],
        out: &mut [f32],
    ) -> Range<usize> {
        assert!(pos.len() <= MAX_GROUP && gathers.len() >= pos.len());
        let gc = &self.groups[c];
        let n = gc.outs.len();
        for i in 0..pos.len() {
            out[i * n..(i + 1) * n].copy_from_slice(&self.bias[gc.outs.clone()]);
        }
        // Segment by segment, each position's inputs read in place where they lie together
        // in the plane (copied into `gathers` only at the image's edges): every output still
        // takes the terms in the same order, accumulated in `out`, so the bits are those of one
        // call on the gathered inputs.
        let mut k0 = 0;
        for s in &gc.segs {
            let k = s.count * s.inputs.len();
            let src = &planes[s.plane];
            let mut xs: [&[f32]; MAX_GROUP] = [&[]; MAX_GROUP];
            for ((x, g), &(y, xpos)) in xs.iter_mut().zip(gathers.iter_mut()).zip(pos) {
                *x = match in_place(s, src, (y, xpos)) {
                    Some(inputs) => inputs,
                    None => {
                        gather_seg(s, src, (y, xpos), g);
                        g
                    }
                };
            }
            fma_block(
                isa,
                &gc.w[k0 * n..],
                n,
                n,
                k,
                &xs[..pos.len()],
                &mut out[..pos.len() * n],
                n,
            );
            k0 += k;
        }
        debug_assert_eq!(k0, gc.k, "the segments cover the matrix");
        if let Some(r) = self.residual {
            for (i, &(y, x)) in pos.iter().enumerate() {
                for (a, &v) in out[i * n..(i + 1) * n]
                    .iter_mut()
                    .zip(&planes[r].at(y, x)[gc.outs.clone()])
                {
                    *a += v;
                }
            }
        }
        gc.outs.clone()
    }
}

/// Positions [`OpChain::run_many`] computes in one pass.
pub(crate) const MAX_GROUP: usize = 8;

/// Segment `s`'s inputs at (y, x) as they lie in `src`, when the segment is inside the image
/// (one tap's features, or neighbouring taps' every feature: [`merge`] joins only those).
fn in_place<'p>(s: &Seg, src: &'p Plane, (y, x): (usize, usize)) -> Option<&'p [f32]> {
    let (yy, xx) = (y as isize + s.dy, x as isize + s.dx);
    if yy < 0 || xx < 0 || xx + s.count as isize > src.width as isize {
        return None;
    }
    let (yy, xx) = (yy as usize, xx as usize);
    Some(if s.count == 1 {
        &src.at(yy, xx)[s.inputs.clone()]
    } else {
        debug_assert_eq!(s.inputs.len(), src.ch, "merged taps read every feature");
        src.run(yy, xx, s.count)
    })
}

/// Segment `s`'s inputs at (y, x) into `gather` (zeros outside the image).
fn gather_seg(s: &Seg, src: &Plane, (y, x): (usize, usize), gather: &mut Vec<f32>) {
    gather.clear();
    let (yy, xx) = (y as isize + s.dy, x as isize + s.dx);
    let inside = |xx: isize| yy >= 0 && xx >= 0 && xx < src.width as isize;
    for d in 0..s.count as isize {
        if inside(xx + d) {
            gather.extend_from_slice(&src.at(yy as usize, (xx + d) as usize)[s.inputs.clone()]);
        } else {
            gather.resize(gather.len() + s.inputs.len(), 0.0);
        }
    }
}

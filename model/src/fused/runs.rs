//! The compact per-run layout of a masked convolution's weights (one matrix per run of outputs
//! in one channel group and per tap), for single positions: incremental mode reads each weight
//! once per pixel, contiguously. The same terms in the same order as [`Fused::accumulate`].

use std::ops::Range;

use super::{Fused, Phase, GATHER};
use crate::config::group_range;
use crate::kernels::{fma_block, Isa};
use crate::layers::{Plane, Tap};
use crate::weights::Tensor;

/// Outputs `start..end` (one channel group) with each tap's compact matrix
/// (`n_in × (end − start)`, row-major): the off-centre taps in row-major order, the centre's.
#[derive(Clone, Debug)]
pub(super) struct Run {
    start: usize,
    end: usize,
    around: Vec<(Tap, usize)>,
    /// The off-centre taps as one matrix (offset, inputs) when theirs follow each other.
    joined: Option<(usize, usize)>,
    centre: Option<(Tap, usize)>,
}

impl Run {
    /// Sorts the run's taps (`(tap, offset)` in row-major order) into off-centre and centre.
    fn new(start: usize, end: usize, taps: Vec<(Tap, usize)>) -> Run {
        let is_centre = |t: &Tap| t.dy == 0 && t.dx == 0;
        let centre = taps.iter().copied().find(|(t, _)| is_centre(t));
        let around: Vec<(Tap, usize)> = taps.into_iter().filter(|(t, _)| !is_centre(t)).collect();
        let width = end - start;
        let joined = around.first().and_then(|&(_, first)| {
            let mut next = first;
            for &(t, off) in &around {
                if off != next {
                    return None;
                }
                next = off + t.n_in * width;
            }
            Some((first, (next - first) / width))
        });
        Run {
            start,
            end,
            around,
            joined,
            centre,
        }
    }

    /// The same taps `rows` rows higher: the centre is one of the others then.
    pub(super) fn shifted_up(self, rows: usize) -> Run {
        let mut taps: Vec<(Tap, usize)> = self.around.into_iter().chain(self.centre).collect();
        for (t, _) in &mut taps {
            t.dy -= rows as isize;
        }
        taps.sort_by_key(|(t, _)| (t.dy, t.dx));
        Run::new(self.start, self.end, taps)
    }
}

impl Fused {
    /// [`Fused::accumulate`] at one position (y, x) through the compact per-run matrices (the
    /// same bits): incremental mode, where each weight is read once per pixel. A run's
    /// off-centre taps, when their matrices follow each other, are one call on the gathered
    /// inputs.
    #[allow(clippy::too_many_arguments)]
    pub fn accumulate_runs(
        &self,
        isa: Isa,
        phase: Phase,
        src: &Plane,
        (y, x): (usize, usize),
        o_range: Range<usize>,
        acc: &mut [f32],
        ld: usize,
    ) {
        let groups = self.groups;
        let read = |t: &Tap, inputs: Range<usize>| {
            let (yy, xx) = (y as isize + t.dy, x as isize + t.dx);
            if yy >= 0 && xx >= 0 && xx < src.width as isize {
                &src.at(yy as usize, xx as usize)[inputs]
            } else {
                &self.zeros[inputs]
            }
        };
        GATHER.with_borrow_mut(|buf| {
            // The run whose off-centre inputs `buf` holds (runs of one group read the same).
            let mut gathered: Option<&Run> = None;
            for run in &self.runs {
                let (a, b) = (run.start.max(o_range.start), run.end.min(o_range.end));
                if a >= b {
                    continue;
                }
                let stride = run.end - run.start;
                let acc = &mut acc[a - o_range.start..];
                if matches!(phase, Phase::Around | Phase::All) {
                    if let Some((off, k)) = run.joined {
                        let same = gathered.is_some_and(|g| {
                            g.around.len() == run.around.len()
                                && g.around.iter().zip(&run.around).all(|(p, q)| p.0 == q.0)
                        });
                        if !same {
                            buf.clear();
                            for (t, _) in &run.around {
                                buf.extend_from_slice(read(t, 0..t.n_in));
                            }
                            gathered = Some(run);
                        }
                        let w = &self.rw[off + (a - run.start)..];
                        fma_block(isa, w, stride, b - a, k, &[&buf[..]], acc, ld);
                    } else {
                        for (t, off) in &run.around {
                            let w = &self.rw[off + (a - run.start)..];
                            fma_block(isa, w, stride, b - a, t.n_in, &[read(t, 0..t.n_in)], acc, ld);
                        }
                    }
                }
                let Some((t, off)) = &run.centre else { continue };
                let inputs = match phase {
                    Phase::All => 0..t.n_in,
                    Phase::Centre(g) => {
                        let r = group_range(self.zeros.len(), groups, g);
                        r.start.min(t.n_in)..r.end.min(t.n_in)
                    }
                    Phase::Around => continue,
                };
                if !inputs.is_empty() {
                    let w = &self.rw[off + inputs.start * stride + (a - run.start)..];
                    fma_block(isa, w, stride, b - a, inputs.len(), &[read(t, inputs)], acc, ld);
                }
            }
        })
    }
}

/// Packs `t` per run of outputs in one channel group and per tap of that group.
pub(super) fn pack_runs(t: &Tensor, taps: &[Vec<Tap>], out_group: &[u8]) -> (Vec<Run>, Vec<f32>) {
    let (cout, cin, kh, kw) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3]);
    let (cy, cx) = (kh / 2, kw / 2);
    let mut runs = Vec::new();
    let mut w = Vec::new();
    let mut start = 0;
    while start < cout {
        let g = out_group[start];
        let end = (start..cout).find(|&o| out_group[o] != g).unwrap_or(cout);
        let mut packed = Vec::new();
        for tap in &taps[g as usize] {
            packed.push((*tap, w.len()));
            let ky = (tap.dy + cy as isize) as usize;
            let kx = (tap.dx + cx as isize) as usize;
            for i in 0..tap.n_in {
                for o in start..end {
                    w.push(t.data[((o * cin + i) * kh + ky) * kw + kx]);
                }
            }
        }
        runs.push(Run::new(start, end, packed));
        start = end;
    }
    (runs, w)
}

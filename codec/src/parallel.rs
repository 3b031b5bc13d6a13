//! Decoding format version 3's substreams side by side: consecutive substreams share a thread
//! ([`owner`]), which decodes their rows in order, each a few pixels behind the row above (the model's
//! [`RowModel`] waits for them), and the rows of its substreams in one period side by side in
//! step; with format version 8's lanes, the rows of its substreams in one block ([`crate::lanes`]),
//! which puts each substream's symbols in the order the encoder coded them (the group's rows run
//! `(y − y₀)·(lag + 2)` columns apart: the lanes' delay). Each substream keeps its range decoder
//! and its adaptive state;
//! the pixels decoded so far are shared, so the experts read the same neighbours as a
//! sequential decoder. The output is the sequential decoder's, whatever the thread count.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use constriction::stream::queue::DefaultRangeDecoder;
use pixelrnn_model::group::MAX_ROWS;

use crate::adapt::AdaptState;
use crate::error::{CodecError, Result};
use crate::lanes::Spread;
use crate::model::{RowGroupModel, RowModel};
use crate::options::Progress;
use crate::substreams;
use crate::symbols::Symbols;

/// One substream's decoding state.
struct Substream {
    index: usize,
    dec: DefaultRangeDecoder,
    adapt: Option<AdaptState>,
}

/// Decodes the W×H×C sub-pixels of `decs` (substream s holds rows y ≡ s mod S, its lanes as
/// `spread` says) on `threads` threads with `rows` (made for [`Spread::block`] rows in flight:
/// a thread per substream at most, and threads beyond those computing the model's steps for
/// them, [`crate::pipeline`]);
/// `adaptive`: the experts of that format version mix in (one state per substream), with the
/// phase stages from the given phase row on (version 9's phase flag).
pub(crate) fn decode_rows(
    rows: &dyn RowModel,
    (decs, spread): (Vec<DefaultRangeDecoder>, Spread),
    adaptive: Option<(u8, Option<usize>)>,
    (width, height, ch, levels): (usize, usize, usize, usize),
    threads: usize,
    progress: Option<Progress<'_>>,
) -> Result<Vec<u8>> {
    let nsub = decs.len();
    assert_eq!(nsub, spread.substreams, "a decoder per substream");
    let lag = spread.group_lag(rows.lag())?;
    let image: Vec<AtomicU8> = (0..width * height * ch).map(|_| AtomicU8::new(0)).collect();
    // A thread per substream at most; threads left over pair with those threads as helpers.
    let workers = threads.clamp(1, nsub);
    let helpers = (threads.max(1) - workers).min(workers);
    let mut work: Vec<Vec<Substream>> = (0..workers).map(|_| Vec::new()).collect();
    for (index, dec) in decs.into_iter().enumerate() {
        let rows = substreams::rows(height, nsub, index);
        let adapt = adaptive.map(|(version, phases)| {
            let state = AdaptState::new(version, (width, rows, spread), ch, levels);
            match phases {
                Some(from) => state.with_phases((width, rows, spread), from),
                None => state,
            }
        });
        work[owner(index, nsub, workers)].push(Substream { index, dec, adapt });
    }
    let total = (width * height * ch) as u64;
    let done = AtomicU64::new(0);
    let image_ref = &image;
    let done_ref = &done;
    let results: Vec<std::result::Result<(), Stop>> = std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .into_iter()
            .enumerate()
            .map(|(worker, mine)| {
                scope.spawn(move || {
                    let r = decode_substreams(
                        rows,
                        mine,
                        image_ref,
                        (width, height, ch, levels),
                        (spread, lag, worker < helpers),
                        (done_ref, progress, total),
                    );
                    if r.is_err() {
                        rows.abort();
                    }
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    // A thread that failed aborted the others: report its error, not theirs.
    for r in results {
        if let Err(Stop::Failed(e)) = r {
            return Err(e);
        }
    }
    Ok(image.into_iter().map(AtomicU8::into_inner).collect())
}

/// The thread of substream `index` of `nsub` on `threads`: consecutive substreams share a
/// thread (0 and 1 of four on two threads, 2 and 3 on the other), so a thread's rows in step
/// are next to each other and wait for the other threads' rows only at their top row. Spread
/// as `index mod threads` instead, two threads' rows interleave, each waits for the other at
/// every row and pixel, and a thread that the system deschedules stalls both.
fn owner(index: usize, nsub: usize, threads: usize) -> usize {
    index * threads / nsub
}

/// Why a thread stopped early.
pub(crate) enum Stop {
    /// Another thread failed and aborted the rows.
    Aborted,
    Failed(CodecError),
}

impl From<CodecError> for Stop {
    fn from(e: CodecError) -> Stop {
        Stop::Failed(e)
    }
}

/// One thread's work: the rows of its substreams, a block at a time (S·L rows: with one lane,
/// a period of the substreams), those rows in step ([`RowModel::group`]: one pass over the
/// model's weights for all of them), `lag + 2` columns a row apart. `pipelined`: a helper thread
/// computes the model's steps while this one decodes ([`crate::pipeline`]).
fn decode_substreams(
    rows: &dyn RowModel,
    mine: Vec<Substream>,
    image: &[AtomicU8],
    (width, height, ch, levels): (usize, usize, usize, usize),
    (spread, lag, pipelined): (Spread, usize, bool),
    (done, progress, total): (&AtomicU64, Option<Progress<'_>>, u64),
) -> std::result::Result<(), Stop> {
    let nsub = spread.substreams;
    // The substream of each residue, as an index into `mine`.
    let mut slot = vec![None; nsub];
    for (k, s) in mine.iter().enumerate() {
        slot[s.index] = Some(k);
    }
    let mut dec = Decoding {
        mine,
        slot,
        symbols: Symbols::new(levels),
        image,
        width,
        ch,
        nsub,
    };
    let mut chunks = Vec::new();
    for start in (0..height).step_by(spread.block()) {
        let ys: Vec<usize> = (start..(start + spread.block()).min(height))
            .filter(|y| dec.slot[y % nsub].is_some())
            .collect();
        chunks.extend(ys.chunks(MAX_ROWS).map(<[usize]>::to_vec));
    }
    let mut report = |chunk: &[usize]| {
        let sub_pixels = (chunk.len() * width * ch) as u64;
        let n = done.fetch_add(sub_pixels, Ordering::Relaxed) + sub_pixels;
        if let Some(p) = progress {
            p(n, total);
        }
    };
    // A helper splits groups of two rows or more (one lane a substream has one row a group).
    if pipelined && chunks.iter().any(|c| c.len() > 1) {
        return crate::pipeline::decode_chunks(rows, &chunks, (lag, width, ch), &mut dec, &mut report);
    }
    for chunk in &chunks {
        dec.alone(rows, chunk, lag)?;
        report(chunk);
    }
    Ok(())
}

/// What one thread decodes with: its substreams, the image decoded so far.
pub(crate) struct Decoding<'i> {
    mine: Vec<Substream>,
    /// The substream of each residue, as an index into `mine`.
    slot: Vec<Option<usize>>,
    symbols: Symbols,
    image: &'i [AtomicU8],
    width: usize,
    ch: usize,
    nsub: usize,
}

impl Decoding<'_> {
    /// Decodes the rows `chunk` on this thread, in one group in step.
    pub(crate) fn alone(&mut self, rows: &dyn RowModel, chunk: &[usize], lag: usize) -> std::result::Result<(), Stop> {
        let mut group = rows.group(chunk, lag);
        loop {
            let active = group.step().ok_or(Stop::Aborted)?;
            if active.is_empty() {
                return Ok(());
            }
            self.step(&mut *group, active)?;
        }
    }

    /// Decodes the sub-pixels of a group's computed step, its `active` rows in order, and
    /// pushes them.
    pub(crate) fn step(
        &mut self,
        group: &mut dyn RowGroupModel,
        active: Range<usize>,
    ) -> std::result::Result<(), Stop> {
        let image = self.image;
        let get = |j: usize| image[j].load(Ordering::Relaxed);
        for j in active {
            let (y, x, c) = group.position(j);
            let sub = &mut self.mine[self.slot[y % self.nsub].expect("this thread's row")];
            let i = ((y * self.width + x) * self.ch + c) as u64;
            let mix = sub.adapt.as_mut().map(|a| {
                crate::symbols::mixing(move |t: &[f32], m: &mut [f32]| {
                    a.mix(&get, (y, x, c), t, m);
                    a.tree()
                })
            });
            let v = self.symbols.decode(&mut sub.dec, group.dist(j), mix, i)?;
            if let Some(a) = sub.adapt.as_mut() {
                a.update(c, v);
            }
            image[i as usize].store(v as u8, Ordering::Relaxed);
            group.push(j, v as u8);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::owner;

    /// Every thread gets at least one substream, consecutive ones, as many as any other give or
    /// take one; a bug that interleaves them (`index % threads`) or leaves a thread idle fails.
    #[test]
    fn threads_own_consecutive_substreams_evenly() {
        for nsub in 1..=12 {
            for threads in 1..=nsub {
                let owners: Vec<usize> = (0..nsub).map(|s| owner(s, nsub, threads)).collect();
                assert!(
                    owners.windows(2).all(|w| w[0] <= w[1] && w[1] - w[0] <= 1),
                    "{owners:?}"
                );
                assert_eq!((owners[0], owners[nsub - 1]), (0, threads - 1), "{owners:?}");
                let counts: Vec<usize> = (0..threads)
                    .map(|t| owners.iter().filter(|&&o| o == t).count())
                    .collect();
                let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
                assert!(hi - lo <= 1, "{nsub} on {threads}: {counts:?}");
            }
        }
        assert_eq!((0..4).map(|s| owner(s, 4, 2)).collect::<Vec<_>>(), [0, 0, 1, 1]);
    }
}

//! The encoder's adaptive coding (the model mixed with the experts, [`crate::adapt`]), fed a
//! row of tabulated distributions at a time, coded a row at a time or, with format version 8's
//! lanes, a block at a time in [`crate::lanes::order`], the block's substreams on several
//! threads; with more than one thread it runs on a thread of its own beside the network and the
//! plain coding ([`Pipeline`]).

use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};

use constriction::stream::queue::DefaultRangeEncoder;
use constriction::stream::Encode;

use crate::adapt::{total, AdaptState, AdaptStats};
use crate::error::{CodecError, Result};
use crate::lanes::{self, Spread};
use crate::quantize::Span;
use crate::signal::Signal;
use crate::substreams;

/// The adaptive coding of one image: an adaptive state and a range coder per substream.
pub(crate) struct AdaptiveCoder<'a> {
    states: Vec<AdaptState>,
    encs: Vec<DefaultRangeEncoder>,
    spread: Spread,
    mixed: Vec<f32>,
    /// The coded sub-pixels (raster order); the experts read the ones coded before each (the
    /// decoder has exactly those).
    coded: &'a [u8],
    /// (width, height, channels).
    geometry: (usize, usize, usize),
    levels: usize,
    /// The current block's rows' distributions (lanes only).
    block: Vec<Vec<f32>>,
    running: Option<Arc<Running>>,
    /// Threads a block's substreams are coded on (lanes only; the bytes are the same).
    workers: usize,
    /// Version 9: the phase row, until the choice of the phase stages is made there.
    phase_row: Option<usize>,
    /// Whether the phase stages were chosen (the header's phase flag).
    phases: bool,
}

/// What an adaptive coding has cost so far, for the encoder on another thread: the mixed
/// distributions' bits and the sub-pixels coded, updated after every row; and what it had cost
/// once its `mark` row was coded (the same on every run, whatever the threads' timing), which
/// another thread can wait for ([`Signal::wait`]) until the coding closes it.
#[derive(Debug)]
pub(crate) struct Running {
    so_far: Mutex<(f64, u64)>,
    mark_row: usize,
    /// The bits of rows 0 ..= `mark_row`, once they are coded.
    pub(crate) mark: Signal<f64>,
}

impl Running {
    /// A running cost that also keeps the cost of rows 0 ..= `mark_row`.
    pub(crate) fn new(mark_row: usize) -> Self {
        Running {
            so_far: Mutex::new((0.0, 0)),
            mark_row,
            mark: Signal::new(),
        }
    }

    /// (bits, sub-pixels) so far.
    pub(crate) fn get(&self) -> (f64, u64) {
        *self.so_far.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bits of rows 0 ..= the mark row, once they are coded.
    pub(crate) fn mark(&self) -> Option<f64> {
        self.mark.get()
    }

    /// The row whose cost [`Running::mark`] keeps.
    pub(crate) fn mark_row(&self) -> usize {
        self.mark_row
    }
}

impl<'a> AdaptiveCoder<'a> {
    /// For the W×H×C sub-pixels `coded` of `levels` levels, rows spread as `spread`, in format
    /// version `version`.
    pub(crate) fn new(
        version: u8,
        coded: &'a [u8],
        (width, height, ch, levels): (usize, usize, usize, usize),
        spread: Spread,
    ) -> Self {
        let nsub = spread.substreams;
        // Version 9 tries the phase stages where the phase row is in the image.
        let from = crate::phase_row(height, spread);
        let phase_row = (version >= 9 && from < height).then_some(from);
        AdaptiveCoder {
            states: (0..nsub)
                .map(|s| {
                    let geometry = (width, substreams::rows(height, nsub, s), spread);
                    let state = AdaptState::new(version, geometry, ch, levels);
                    match phase_row {
                        Some(from) => state.with_phases(geometry, from).measuring_phases(),
                        None => state,
                    }
                })
                .collect(),
            encs: (0..nsub).map(|_| DefaultRangeEncoder::new()).collect(),
            spread,
            mixed: vec![0.0; levels],
            coded,
            geometry: (width, height, ch),
            levels,
            block: Vec::new(),
            running: None,
            workers: 1,
            phase_row,
            phases: false,
        }
    }

    /// Codes a block's substreams on up to `threads` threads (with lanes and two substreams
    /// or more; each substream has its own state and coder, so the bytes are the same).
    pub(crate) fn with_threads(mut self, threads: usize) -> Self {
        self.workers = threads.clamp(1, self.spread.substreams);
        self
    }

    /// Reports the cost so far to `running` after every row.
    pub(crate) fn with_running(mut self, running: Arc<Running>) -> Self {
        self.running = Some(running);
        self
    }

    /// Codes sub-pixel (y, x, c) of substream `s`, its model distribution `tab`.
    fn code(&mut self, s: usize, at: (usize, usize, usize), tab: &[f32]) -> Result<()> {
        let mut sub = Substream {
            state: &mut self.states[s],
            enc: &mut self.encs[s],
        };
        sub.code(&mut self.mixed, self.coded, self.geometry, at, tab)
    }

    /// Codes row y from its sub-pixels' distributions `tabs` (W·C × levels probabilities),
    /// rows in order: at once, or with lanes once its block is complete. Gives back the
    /// buffers it is done with.
    pub(crate) fn row(&mut self, y: usize, tabs: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        let (width, height, ch) = self.geometry;
        let (sp, l) = (self.spread, self.levels);
        let done = if sp.lanes == 1 {
            let s = y % sp.substreams;
            for x in 0..width {
                for c in 0..ch {
                    let k = x * ch + c;
                    self.code(s, (y, x, c), &tabs[k * l..(k + 1) * l])?;
                }
            }
            vec![tabs]
        } else {
            self.block.push(tabs);
            let start = y - y % sp.block();
            if y + 1 < (start + sp.block()).min(height) {
                return Ok(Vec::new());
            }
            let block = std::mem::take(&mut self.block);
            self.code_block(start, &block)?;
            block
        };
        if self.phase_row == Some(y + 1) {
            self.choose_phases();
        }
        if let Some(r) = &self.running {
            let bits = total(&self.states).mixed_bits;
            let n: usize = done.iter().map(|t| t.len() / l).sum();
            let mut so_far = r.so_far.lock().unwrap_or_else(|e| e.into_inner());
            *so_far = (bits, so_far.1 + n as u64);
            // The rows just coded (with lanes, a block) hold the mark row.
            if r.mark_row <= y && r.mark_row + done.len() > y {
                r.mark.set(bits);
            }
        }
        Ok(done)
    }

    /// At the phase row (every row before it coded): the phase stages, or version 7's stage,
    /// for every substream, by what they have cost ([`crate::phase9`]).
    fn choose_phases(&mut self) {
        self.phase_row = None;
        let mut bits = [0.0; 2];
        for s in &self.states {
            if let Some([one, phased]) = s.phase_bits() {
                bits[0] += one;
                bits[1] += phased;
            }
        }
        self.phases = crate::phase9::choose(bits[0], bits[1]);
        for s in &mut self.states {
            s.settle(self.phases);
        }
    }

    /// Codes the block of rows from `start` (their distributions `block`), every substream in
    /// [`lanes::order`]: substream s on worker s mod [`AdaptiveCoder::with_threads`]'s count,
    /// the first worker on this thread (the only one by default).
    fn code_block(&mut self, start: usize, block: &[Vec<f32>]) -> Result<()> {
        let (sp, l, geometry) = (self.spread, self.levels, self.geometry);
        let (coded, ch, workers) = (self.coded, geometry.2, self.workers);
        // Worker w codes substreams w, w + workers, …, with a mixing buffer of its own.
        let mut lists: Vec<Vec<(usize, Substream<'_>)>> = (0..workers).map(|_| Vec::new()).collect();
        for (s, (state, enc)) in self.states.iter_mut().zip(self.encs.iter_mut()).enumerate() {
            lists[s % workers].push((s, Substream { state, enc }));
        }
        let work = |list: Vec<(usize, Substream<'_>)>| -> Result<()> {
            let mut mixed = vec![0.0; l];
            for (s, mut sub) in list {
                lanes::order(sp, geometry, start, s, |y, x, c| {
                    let k = x * ch + c;
                    let tab = &block[y - start][k * l..(k + 1) * l];
                    sub.code(&mut mixed, coded, geometry, (y, x, c), tab)
                })?;
            }
            Ok(())
        };
        std::thread::scope(|scope| {
            let mut lists = lists.into_iter();
            let first = lists.next().expect("one worker at least");
            let handles: Vec<_> = lists.map(|list| scope.spawn(|| work(list))).collect();
            let mine = work(first);
            for h in handles {
                h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))?;
            }
            mine
        })
    }

    /// What the experts cost, the substreams' coders, and whether the phase stages were
    /// chosen (version 9's phase flag).
    pub(crate) fn finish(self) -> (AdaptStats, Vec<DefaultRangeEncoder>, bool) {
        (total(&self.states), self.encs, self.phases)
    }
}

/// One substream's adaptive state and range coder.
struct Substream<'b> {
    state: &'b mut AdaptState,
    enc: &'b mut DefaultRangeEncoder,
}

impl Substream<'_> {
    /// Codes sub-pixel (y, x, c) of the W×H×C sub-pixels `coded`, its model distribution
    /// `tab`, mixing into `mixed`; the experts read the sub-pixels coded before it (the decoder
    /// has exactly those).
    fn code(
        &mut self,
        mixed: &mut [f32],
        coded: &[u8],
        (width, _, ch): (usize, usize, usize),
        (y, x, c): (usize, usize, usize),
        tab: &[f32],
    ) -> Result<()> {
        let i = (y * width + x) * ch + c;
        let get = |j: usize| coded[j];
        let v = coded[i] as usize;
        self.state.mix(&get, (y, x, c), tab, mixed);
        match self.state.tree() {
            Some(tree) => self.enc.encode_symbol(v, tree.span(v)),
            None => self.enc.encode_symbol(v, Span::of(mixed, v)),
        }
        .map_err(|e| CodecError::BadParameter(format!("range coder: {e}")))?;
        self.state.update(c, v);
        Ok(())
    }
}

/// The adaptive coder, in the encoding thread or on its own (rows sent through a channel of
/// two, their buffers sent back for reuse).
pub(crate) enum Pipeline<'s, 'a> {
    Inline(Box<AdaptiveCoder<'a>>),
    Thread {
        tx: SyncSender<(usize, Vec<f32>)>,
        back: Receiver<Vec<f32>>,
        handle: ScopedJoinHandle<'s, Result<AdaptiveCoder<'a>>>,
    },
}

impl<'s, 'a: 's> Pipeline<'s, 'a> {
    /// Starts the coder, on a thread of `scope` when `threaded`.
    pub(crate) fn start<'e>(scope: &'s Scope<'s, 'e>, mut coder: AdaptiveCoder<'a>, threaded: bool) -> Self {
        if !threaded {
            return Pipeline::Inline(Box::new(coder));
        }
        let (tx, rx) = sync_channel::<(usize, Vec<f32>)>(2);
        let (back_tx, back) = channel();
        let handle = scope.spawn(move || {
            for (y, tabs) in rx {
                for t in coder.row(y, tabs)? {
                    let _ = back_tx.send(t);
                }
            }
            Ok(coder)
        });
        Pipeline::Thread { tx, back, handle }
    }

    /// Codes (or hands over) row y's distributions; gives back buffers for the next rows.
    pub(crate) fn row(&mut self, y: usize, tabs: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        match self {
            Pipeline::Inline(coder) => coder.row(y, tabs),
            Pipeline::Thread { tx, back, .. } => {
                // A closed channel means the coder failed: `finish` reports why.
                let _ = tx.send((y, tabs));
                Ok(back.try_iter().collect())
            }
        }
    }

    /// The coder, once every row is coded.
    pub(crate) fn finish(self) -> Result<AdaptiveCoder<'a>> {
        match self {
            Pipeline::Inline(coder) => Ok(*coder),
            Pipeline::Thread { tx, handle, .. } => {
                drop(tx);
                handle.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
            }
        }
    }
}

//! The encoder's adaptive coding (the model mixed with the experts, [`crate::adapt`]), fed a
//! row of tabulated distributions at a time; with more than one thread it runs on a thread of
//! its own beside the network and the plain coding ([`Pipeline`]).

use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{Scope, ScopedJoinHandle};

use constriction::stream::queue::DefaultRangeEncoder;
use constriction::stream::Encode;

use crate::adapt::{AdaptStats, Adapter};
use crate::error::{CodecError, Result};
use crate::quantize::Span;

/// The adaptive coding of one image: its adapter and a range coder per substream.
pub(crate) struct AdaptiveCoder<'a> {
    adapter: Adapter,
    encs: Vec<DefaultRangeEncoder>,
    mixed: Vec<f32>,
    /// The coded sub-pixels (raster order).
    coded: &'a [u8],
    row_len: usize,
    levels: usize,
    running: Option<Arc<Running>>,
}

/// What an adaptive coding has cost so far, for the encoder on another thread: the mixed
/// distributions' bits and the sub-pixels coded, updated after every row; and what it had cost
/// once its `mark` row was coded (the same on every run, whatever the threads' timing).
#[derive(Debug)]
pub(crate) struct Running {
    so_far: Mutex<(f64, u64)>,
    mark_row: usize,
    mark: OnceLock<f64>,
}

impl Running {
    /// A running cost that also keeps the cost of rows 0 ..= `mark_row`.
    pub(crate) fn new(mark_row: usize) -> Self {
        Running {
            so_far: Mutex::new((0.0, 0)),
            mark_row,
            mark: OnceLock::new(),
        }
    }

    /// (bits, sub-pixels) so far.
    pub(crate) fn get(&self) -> (f64, u64) {
        *self.so_far.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bits of rows 0 ..= the mark row, once they are coded.
    pub(crate) fn mark(&self) -> Option<f64> {
        self.mark.get().copied()
    }
}

impl<'a> AdaptiveCoder<'a> {
    /// For the W×H×C sub-pixels `coded` of `levels` levels, rows over `nsub` substreams, in
    /// format version `version`.
    pub(crate) fn new(
        version: u8,
        coded: &'a [u8],
        (width, height, ch, levels): (usize, usize, usize, usize),
        nsub: usize,
    ) -> Self {
        AdaptiveCoder {
            adapter: Adapter::new(version, (width, height, ch, levels), nsub),
            encs: (0..nsub).map(|_| DefaultRangeEncoder::new()).collect(),
            mixed: vec![0.0; levels],
            coded,
            row_len: width * ch,
            levels,
            running: None,
        }
    }

    /// Reports the cost so far to `running` after every row.
    pub(crate) fn with_running(mut self, running: Arc<Running>) -> Self {
        self.running = Some(running);
        self
    }

    /// Codes row y from its sub-pixels' distributions `tabs` (W·C × levels probabilities).
    pub(crate) fn row(&mut self, y: usize, tabs: &[f32]) -> Result<()> {
        let nsub = self.encs.len();
        let enc = &mut self.encs[y % nsub];
        let values = &self.coded[y * self.row_len..(y + 1) * self.row_len];
        for (tab, &v) in tabs.chunks_exact(self.levels).zip(values) {
            self.adapter.mix(tab, &mut self.mixed);
            enc.encode_symbol(v as usize, Span::of(&self.mixed, v as usize))
                .map_err(|e| CodecError::BadParameter(format!("range coder: {e}")))?;
            self.adapter.update(v as usize);
        }
        if let Some(r) = &self.running {
            let bits = self.adapter.stats().mixed_bits;
            let mut so_far = r.so_far.lock().unwrap_or_else(|e| e.into_inner());
            *so_far = (bits, so_far.1 + tabs.len() as u64 / self.levels as u64);
            if r.mark_row == y {
                let _ = r.mark.set(bits);
            }
        }
        Ok(())
    }

    /// What the experts cost, and the substreams' coders.
    pub(crate) fn finish(self) -> (AdaptStats, Vec<DefaultRangeEncoder>) {
        (self.adapter.stats(), self.encs)
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
                coder.row(y, &tabs)?;
                let _ = back_tx.send(tabs);
            }
            Ok(coder)
        });
        Pipeline::Thread { tx, back, handle }
    }

    /// Codes (or hands over) row y's distributions; gives back a buffer for the next row.
    pub(crate) fn row(&mut self, y: usize, tabs: Vec<f32>) -> Result<Vec<f32>> {
        match self {
            Pipeline::Inline(coder) => {
                coder.row(y, &tabs)?;
                Ok(tabs)
            }
            Pipeline::Thread { tx, back, .. } => {
                let n = tabs.len();
                // A closed channel means the coder failed: `finish` reports why.
                let _ = tx.send((y, tabs));
                Ok(back.try_recv().unwrap_or_else(|_| vec![0.0; n]))
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

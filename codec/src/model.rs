//! The interface between the codec and a probability model: the engine implements it, and
//! codec tests use a tiny mock.

use std::ops::Range;

use pixelrnn_model::group::RowGroup;
use pixelrnn_model::rows::{RowSession, Rows};
use pixelrnn_model::wave::{RowBatch, RowWave};
use pixelrnn_model::{Arith, Dist, Engine, EngineSession, ModelId};

use crate::error::Result;

/// A source of sub-pixel distributions, in batch (encode) and sequential (decode) form. Both
/// forms must give bit-identical probabilities for the same context.
pub trait ProbabilityModel: Sync {
    /// Coded sub-pixels per pixel.
    fn channels(&self) -> usize;
    /// Values per sub-pixel.
    fn levels(&self) -> usize;
    /// Identifies the model in the `.prnn` header.
    fn id(&self) -> ModelId;
    /// Every sub-pixel's distribution with its value, in coding order, in the engine arithmetic
    /// `arith` (the file's version decides it: [`crate::arith_of`]).
    #[allow(clippy::too_many_arguments)]
    fn batch(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        sink: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>,
    ) -> Result<()>;
    /// A sequential decoder state for a `width`×`height` image, in arithmetic `arith`.
    fn sequential<'a>(&'a self, arith: Arith, width: usize, height: usize) -> Box<dyn SequentialModel + 'a>;
    /// The H×W×C raster of sub-pixel values given in coding order (the order of `batch` and of
    /// the sequential model): the values themselves unless the model codes in another order, as
    /// multi-scale models do.
    fn raster(&self, coded: Vec<u8>, _width: usize, _height: usize) -> Vec<u8> {
        coded
    }
    /// Whether the coding order is the raster order (the adaptive coding needs it).
    fn raster_order(&self) -> bool {
        true
    }
    /// Rows decoded side by side on threads, at most `in_flight` at a time (format version
    /// 3's substreams), with the same distributions as [`ProbabilityModel::sequential`]; None
    /// when the model cannot.
    fn rows<'a>(
        &'a self,
        _arith: Arith,
        _width: usize,
        _height: usize,
        _in_flight: usize,
    ) -> Option<Box<dyn RowModel + 'a>> {
        None
    }
    /// The columns a row must stay behind the row above when rows decode side by side
    /// ([`RowModel::lag`]); None when the model has no row form.
    fn row_lag(&self) -> Option<usize> {
        self.rows(Arith::fma(), 1, 1, 1).map(|r| r.lag())
    }
    /// [`ProbabilityModel::sequential`] for a reader of channel `c`'s distributions alone (the
    /// alpha split's alpha model): the others' may be left uncomputed and meaningless.
    fn sequential_only<'a>(
        &'a self,
        arith: Arith,
        width: usize,
        height: usize,
        _c: usize,
    ) -> Box<dyn SequentialModel + 'a> {
        self.sequential(arith, width, height)
    }
    /// [`ProbabilityModel::rows`] for a reader of channel `c`'s distributions alone, as
    /// [`ProbabilityModel::sequential_only`].
    fn rows_only<'a>(
        &'a self,
        arith: Arith,
        (width, height, in_flight): (usize, usize, usize),
        _c: usize,
    ) -> Option<Box<dyn RowModel + 'a>> {
        self.rows(arith, width, height, in_flight)
    }
    /// Batch mode a raster row at a time: `row(y, dists)` for every row, which must run
    /// [`RowDists::for_each`] once; rows may be computed side by side on `threads` threads,
    /// each row's function on the thread that computed it. The same distributions as
    /// [`ProbabilityModel::batch`]. None when the model has no row form (the encoder then uses
    /// `batch`).
    #[allow(clippy::too_many_arguments)]
    fn batch_rows(
        &self,
        _arith: Arith,
        _pixels: &[u8],
        _width: usize,
        _height: usize,
        _threads: usize,
        _row: &(dyn Fn(usize, &mut dyn RowDists) -> Result<()> + Sync),
    ) -> Option<Result<()>> {
        None
    }
    /// Batch mode's rows computed on the caller's threads (for a model run beside another
    /// model's rows: the alpha split's encoder), up to `threads` rows at a time; the same
    /// distributions as [`ProbabilityModel::batch`]. None when the model has no such form.
    fn row_wave<'a>(
        &'a self,
        _arith: Arith,
        _pixels: &'a [u8],
        _width: usize,
        _height: usize,
        _threads: usize,
    ) -> Result<Option<Box<dyn WaveRows + 'a>>> {
        Ok(None)
    }
}

/// The rows of [`ProbabilityModel::row_wave`]: row y at most once, computed on the calling
/// thread; row y waits until row y − threads is complete. Every row taken must be run to the
/// end, or the wave aborted, else the rows below it wait.
pub trait WaveRows: Sync {
    /// Row `y`'s distributions and values, in order, to `f`.
    fn row(&self, y: usize, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>) -> Result<()>;
    /// Makes every waiting row give up with an error.
    fn abort(&self);
}

impl WaveRows for RowWave<'_> {
    fn row(&self, y: usize, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>) -> Result<()> {
        RowWave::row(self, y)?.for_each(f)
    }
    fn abort(&self) {
        RowWave::abort(self)
    }
}

/// One row of [`ProbabilityModel::batch_rows`].
pub trait RowDists {
    /// Every sub-pixel's distribution and value, in order, to `f`.
    fn for_each(&mut self, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>) -> Result<()>;
}

impl RowDists for RowBatch<'_> {
    fn for_each(&mut self, f: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>) -> Result<()> {
        RowBatch::for_each(self, f)
    }
}

/// The rows of one image decoded side by side: a session per row, or per group of rows in
/// step, each driven by one thread, a thread's rows in increasing order.
pub trait RowModel: Sync {
    fn row<'a>(&'a self, y: usize) -> Box<dyn RowSequential + 'a>;
    /// Rows `ys` (increasing, at most [`pixelrnn_model::group::MAX_ROWS`]) of one thread in
    /// step, each at least `lag` (≥ [`RowModel::lag`]) columns behind the row above.
    fn group<'a>(&'a self, ys: &[usize], lag: usize) -> Box<dyn RowGroupModel + Send + 'a>;
    /// Columns a row must stay behind the row above.
    fn lag(&self) -> usize;
    /// Makes waiting rows give up (their `next_dist` returns None) after a thread failed.
    fn abort(&self);
}

/// Rows of one thread in step: `step` computes one (the active rows, empty once done;
/// None once aborted), then `push` every active row's value.
pub trait RowGroupModel {
    fn step(&mut self) -> Option<Range<usize>>;
    /// As `step`, leaving part of the work to `finish` (which must come before `dist`): a
    /// helper thread steps, the decoding thread finishes ([`crate::pipeline`]).
    fn step_deferred(&mut self) -> Option<Range<usize>> {
        self.step()
    }
    fn finish(&mut self) {}
    /// Row j's sub-pixel in this step: (y, x, c).
    fn position(&self, j: usize) -> (usize, usize, usize);
    fn dist(&self, j: usize) -> Dist<'_>;
    fn push(&mut self, j: usize, value: u8);
}

/// One row's sub-pixels in order: `next_dist` (None once aborted), then `push` the value.
pub trait RowSequential {
    fn next_dist(&mut self) -> Option<Dist<'_>>;
    fn push(&mut self, value: u8);
}

/// One sub-pixel at a time: `next` (the distribution), then `push` the value, repeated in
/// coding order.
pub trait SequentialModel {
    fn next_dist(&mut self) -> Dist<'_>;
    fn push(&mut self, value: u8);
}

impl ProbabilityModel for Engine {
    fn channels(&self) -> usize {
        Engine::channels(self)
    }

    fn levels(&self) -> usize {
        Engine::levels(self)
    }

    fn id(&self) -> ModelId {
        Engine::id(self)
    }

    fn batch(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        sink: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>,
    ) -> Result<()> {
        Engine::batch_with(self, arith, pixels, width, height, threads, sink)
    }

    fn sequential<'a>(&'a self, arith: Arith, width: usize, height: usize) -> Box<dyn SequentialModel + 'a> {
        Box::new(self.session_with(arith, width, height))
    }

    fn sequential_only<'a>(
        &'a self,
        arith: Arith,
        width: usize,
        height: usize,
        c: usize,
    ) -> Box<dyn SequentialModel + 'a> {
        Box::new(self.session_with(arith, width, height).only(c))
    }

    fn rows_only<'a>(
        &'a self,
        arith: Arith,
        (width, height, in_flight): (usize, usize, usize),
        c: usize,
    ) -> Option<Box<dyn RowModel + 'a>> {
        Some(Box::new(self.rows_with(arith, width, height, in_flight)?.only(c)))
    }

    fn raster(&self, coded: Vec<u8>, width: usize, height: usize) -> Vec<u8> {
        Engine::raster(self, coded, width, height)
    }

    fn batch_rows(
        &self,
        arith: Arith,
        pixels: &[u8],
        width: usize,
        height: usize,
        threads: usize,
        row: &(dyn Fn(usize, &mut dyn RowDists) -> Result<()> + Sync),
    ) -> Option<Result<()>> {
        self.batch_rows_with(arith, pixels, width, height, threads, |b| row(b.y(), b))
    }

    fn raster_order(&self) -> bool {
        self.config().multiscale.is_none()
    }

    fn row_wave<'a>(
        &'a self,
        arith: Arith,
        pixels: &'a [u8],
        width: usize,
        height: usize,
        threads: usize,
    ) -> Result<Option<Box<dyn WaveRows + 'a>>> {
        let wave = Engine::row_wave(self, arith, pixels, width, height, threads)?;
        Ok(wave.map(|w| Box::new(w) as Box<dyn WaveRows + 'a>))
    }

    fn rows<'a>(
        &'a self,
        arith: Arith,
        width: usize,
        height: usize,
        in_flight: usize,
    ) -> Option<Box<dyn RowModel + 'a>> {
        Some(Box::new(self.rows_with(arith, width, height, in_flight)?))
    }
}

impl RowModel for Rows<'_> {
    fn row<'a>(&'a self, y: usize) -> Box<dyn RowSequential + 'a> {
        Box::new(Rows::row(self, y))
    }

    fn group<'a>(&'a self, ys: &[usize], lag: usize) -> Box<dyn RowGroupModel + Send + 'a> {
        Box::new(Rows::group(self, ys, lag))
    }

    fn lag(&self) -> usize {
        Rows::lag(self)
    }

    fn abort(&self) {
        Rows::abort(self)
    }
}

impl RowGroupModel for RowGroup<'_, '_> {
    fn step(&mut self) -> Option<Range<usize>> {
        RowGroup::step(self)
    }

    fn step_deferred(&mut self) -> Option<Range<usize>> {
        RowGroup::step_deferred(self)
    }

    fn finish(&mut self) {
        RowGroup::finish(self)
    }

    fn position(&self, j: usize) -> (usize, usize, usize) {
        RowGroup::position(self, j)
    }

    fn dist(&self, j: usize) -> Dist<'_> {
        RowGroup::dist(self, j)
    }

    fn push(&mut self, j: usize, value: u8) {
        RowGroup::push(self, j, value)
    }
}

impl RowSequential for RowSession<'_, '_> {
    fn next_dist(&mut self) -> Option<Dist<'_>> {
        RowSession::next_dist(self)
    }

    fn push(&mut self, value: u8) {
        RowSession::push(self, value)
    }
}

impl SequentialModel for EngineSession<'_> {
    fn next_dist(&mut self) -> Dist<'_> {
        EngineSession::next_dist(self)
    }

    fn push(&mut self, value: u8) {
        EngineSession::push(self, value)
    }
}

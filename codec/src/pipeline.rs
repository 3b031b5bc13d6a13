//! One decoding thread's rows on two threads: a helper computes the model's steps while the
//! thread decodes. Each group of rows in step ([`crate::parallel`]) is split in two, and the
//! halves take turns: while the thread decodes one half's step (the adaptive experts, the
//! stages after them, the range decoder), the helper computes the other half's next step. The
//! steps are decoded in the order of the whole group's steps (column, then sub-pixel, then row),
//! so each substream's symbols come in the order the encoder coded them, and the image is the
//! one-thread decoder's bit for bit: only who computes the model's steps changes.
//!
//! A half's next step needs its own last step decoded, and nothing of the other half's newest
//! (the lower half reads the upper one `lag + 2` columns behind, through [`RowModel`]'s waits);
//! so the two threads overlap at every step but at a group's first and last columns, where one
//! half runs alone. A one-substream photo decodes on two threads this way, without the second
//! substream's separate adaptive state, which cost the validation photos 0.5 % (grey and RGB).

use std::ops::Range;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::time::Instant;

use crate::model::{RowGroupModel, RowModel};
use crate::parallel::{Decoding, Stop};

type Group<'a> = Box<dyn RowGroupModel + Send + 'a>;

/// A half's step to compute: which half, the group, and whether to leave the logits and the
/// distributions to this thread ([`RowGroupModel::step_deferred`]).
type Todo<'a> = (usize, Group<'a>, bool);

/// A half's computed step: which half, the group, its active rows (empty once the half is
/// done; None once the rows were aborted), and the nanoseconds the helper computed and, before
/// that, waited.
type Computed<'a> = (usize, Group<'a>, Option<Range<usize>>, (u64, u64));

/// What one chunk's halves measured, in nanoseconds: this thread's waits for the helper, the
/// helper's computing, and its waits for this thread.
#[derive(Default)]
struct Times {
    waited: u64,
    helped: u64,
    idle: u64,
}

/// Chunks decoded on one thread after the helper did not pay, at first; doubled while it
/// keeps not paying, up to [`MAX_ALONE`].
const ALONE: usize = 4;
const MAX_ALONE: usize = 64;

/// Decodes `chunks` (each the rows of one group in step, `lag` as [`RowModel::group`]'s) with
/// `dec`, a helper thread computing the model's steps; `report` after each chunk.
///
/// The helper pays only where both threads run: on a busy machine, where the helper is often
/// descheduled, this thread waits for it longer than computing the steps itself would take. A
/// chunk where it waited longer than three quarters of the helper's computing time is followed
/// by [`ALONE`] chunks decoded on this thread alone (their rows in one group), then the helper
/// is tried again; the same bits either way.
pub(crate) fn decode_chunks(
    rows: &dyn RowModel,
    chunks: &[Vec<usize>],
    (lag, width, ch): (usize, usize, usize),
    dec: &mut Decoding<'_>,
    report: &mut dyn FnMut(&[usize]),
) -> Result<(), Stop> {
    let (to_helper, todo) = sync_channel::<Todo<'_>>(2);
    let (give, computed) = sync_channel::<Computed<'_>>(2);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut t = Instant::now();
            while let Some((half, mut group, defer)) = receive(&todo) {
                let idle = t.elapsed().as_nanos() as u64;
                t = Instant::now();
                let active = if defer { group.step_deferred() } else { group.step() };
                let took = t.elapsed().as_nanos() as u64;
                if give.send((half, group, active, (took, idle))).is_err() {
                    return;
                }
                t = Instant::now();
            }
        });
        // Chunks left to decode alone, and how many the next time the helper does not pay.
        let (mut alone, mut backoff) = (0usize, ALONE);
        // Whether this thread computes the logits and distributions: where the helper is the
        // slower of the two (grey images), not where this thread is (colour: three sub-pixels
        // to decode a pixel, their logits the only network step after the first).
        let mut defer = true;
        let r = chunks.iter().try_for_each(|chunk| {
            if chunk.len() < 2 || alone > 0 {
                // One row (nothing to split), or the helper did not pay.
                alone = alone.saturating_sub(1);
                dec.alone(rows, chunk, lag)?;
            } else {
                let t = decode_halves(rows, chunk, (lag, width, ch, defer), dec, (&to_helper, &computed))?;
                if forced(&mut defer) || t.waited * 4 > t.helped * 3 {
                    alone = backoff;
                    backoff = (backoff * 2).min(MAX_ALONE);
                } else {
                    backoff = ALONE;
                    defer = t.waited > t.idle;
                }
            }
            report(chunk);
            Ok(())
        });
        if r.is_err() {
            // The helper may be waiting for rows this thread will not decode.
            rows.abort();
        }
        drop(to_helper);
        r
    })
}

/// Tests make every chunk the helper computed be followed by chunks decoded alone, and the
/// logits alternate between the threads: the switches a busy machine makes, on any machine.
#[cfg(test)]
static FORCE_SWITCHES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Chunks the helper computed, counted while [`FORCE_SWITCHES`] is set.
#[cfg(test)]
static HELPED_CHUNKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether the tests force the next chunks alone (and flip `defer`).
#[cfg(test)]
fn forced(defer: &mut bool) -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    let on = FORCE_SWITCHES.load(Relaxed);
    if on {
        HELPED_CHUNKS.fetch_add(1, Relaxed);
        *defer = !*defer;
    }
    on
}

#[cfg(not(test))]
fn forced(_: &mut bool) -> bool {
    false
}

/// The rows of one chunk as two halves in turn: the nanoseconds this thread waited for the
/// helper, and those the helper computed.
///
/// Each half's next step is known from the geometry ([`next_key`]), so this thread decodes
/// them in order and gives the helper a half only when its step can be computed without
/// waiting for this thread: the upper half at once, the lower one once the upper half is
/// decoded two columns past it (its first row reads the row above up to the model's reach,
/// `lag` columns right, and rows run `lag + 2` apart). Otherwise the helper could wait inside
/// the lower half's step for upper rows that it has yet to compute itself.
fn decode_halves<'a>(
    rows: &'a dyn RowModel,
    chunk: &[usize],
    (lag, width, ch, defer): (usize, usize, usize, bool),
    dec: &mut Decoding<'_>,
    (to_helper, computed): (&SyncSender<Todo<'a>>, &Receiver<Computed<'a>>),
) -> Result<Times, Stop> {
    let h = chunk.len() / 2;
    let mut times = Times::default();
    let lost = |_| Stop::Aborted;
    // The halves' rows' columns in the whole group's steps.
    let offs: Vec<Vec<usize>> = [&chunk[..h], &chunk[h..]]
        .iter()
        .map(|ys| ys.iter().map(|y| (y - chunk[0]) * (lag + 2)).collect())
        .collect();
    let mut next = [0, 1].map(|k| next_key(&offs[k], width, ch, None));
    // Each half's computed step, and the lower half while it waits for the upper one.
    let mut held: [Option<(Group<'a>, Range<usize>)>; 2] = [None, None];
    let mut parked = Some(rows.group(&chunk[h..], lag));
    to_helper.send((0, rows.group(&chunk[..h], lag), defer)).map_err(lost)?;
    loop {
        if let Some(nb) = next[1].filter(|_| parked.is_some()) {
            // Decoded up to column t − 2 of the whole group: the upper half's next step is
            // in column t − 1 or later.
            let t = nb / KEY;
            if next[0].is_none_or(|na| na / KEY + 1 >= t) {
                to_helper
                    .send((1, parked.take().expect("parked"), defer))
                    .map_err(lost)?;
            }
        }
        let k = match next {
            [None, None] => return Ok(times),
            [Some(a), Some(b)] => usize::from(b < a),
            [Some(_), None] => 0,
            [None, Some(_)] => 1,
        };
        let Some((mut group, active)) = held[k].take() else {
            let t = Instant::now();
            let (j, group, active, (took, idle)) = receive(computed).ok_or(Stop::Aborted)?;
            times.waited += t.elapsed().as_nanos() as u64;
            times.helped += took;
            times.idle += idle;
            let active = active.ok_or(Stop::Aborted)?;
            let (y, x, c) = group.position(active.start);
            let key = (x + (y - chunk[0]) * (lag + 2)) * KEY + c;
            assert_eq!(Some(key), next[j], "the step foreseen");
            held[j] = Some((group, active));
            continue;
        };
        group.finish();
        dec.step(&mut *group, active)?;
        next[k] = next_key(&offs[k], width, ch, next[k]);
        match (next[k], k) {
            (None, _) => {}
            (Some(_), 0) => to_helper.send((0, group, defer)).map_err(lost)?,
            (Some(_), _) => parked = Some(group),
        }
    }
}

/// A step's order key: its column in the whole group times this, plus its sub-pixel.
const KEY: usize = 8;

/// The key of the step after `after` (the first without) of rows starting at columns `offs`
/// of the whole group, each `width` columns long, `ch` sub-pixels a column; None after the
/// last. [`pixelrnn_model::group::RowGroup::step`]'s order: every sub-pixel of a column where
/// a row is active, columns where none is skipped.
fn next_key(offs: &[usize], width: usize, ch: usize, after: Option<usize>) -> Option<usize> {
    let (t, c) = match after {
        None => (0, 0),
        Some(k) if k % KEY + 1 < ch => return Some(k + 1),
        Some(k) => (k / KEY + 1, 0),
    };
    let active = |t: usize| offs.iter().any(|&o| o <= t && t < o + width);
    if active(t) {
        return Some(t * KEY + c);
    }
    offs.iter().copied().filter(|&o| o > t).min().map(|o| o * KEY)
}

/// Spins before a wait sleeps: a step takes microseconds, less than waking a thread.
const SPINS: u32 = 2048;

/// The next message, spinning a little, then sleeping until it comes (so that where the other
/// thread is not running, on a busy machine, this one leaves it the core instead of spinning
/// or yielding through its time slice); None once the sender is gone.
fn receive<T>(rx: &Receiver<T>) -> Option<T> {
    for _ in 0..SPINS {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => std::hint::spin_loop(),
        }
    }
    rx.recv().ok()
}

#[cfg(test)]
mod tests {
    use super::{next_key, FORCE_SWITCHES, HELPED_CHUNKS, KEY};
    use crate::{decode, encode, DecodeOptions, EncodeOptions, Image, ModeChoice};
    use pixelrnn_model::{Config, Engine};
    use std::sync::atomic::Ordering::Relaxed;

    /// Chunks computed with the helper (its logits on either thread) and chunks decoded alone,
    /// switching as a busy machine makes them: the one-thread decoder's image, adaptive or not.
    #[test]
    fn switching_between_the_helper_and_alone_keeps_the_bits() {
        let engine = Engine::random(&Config::pixel_cnn(3, 4, 2, 8), 5).unwrap();
        // One substream of 8 lanes: 12 chunks of 8 rows, the helper's first, then 4 alone, the
        // helper's (the logits on the other thread), then the rest alone.
        let (w, h) = (11u32, 90u32);
        let px = (0..w * h * 3).map(|i| ((i * 37 + i / 33 * 11) % 251) as u8).collect();
        let img = Image::new(w, h, 3, px).unwrap();
        for adapt in [false, true] {
            let opts = EncodeOptions {
                adapt,
                mode: ModeChoice::Model,
                substreams: Some(1),
                ..Default::default()
            };
            let enc = encode(&img, &engine, &opts).unwrap();
            FORCE_SWITCHES.store(true, Relaxed);
            let before = HELPED_CHUNKS.load(Relaxed);
            let threads = DecodeOptions {
                threads: 2,
                ..Default::default()
            };
            let dec = decode(&enc.bytes, &engine, &threads);
            let helped = HELPED_CHUNKS.load(Relaxed) - before;
            FORCE_SWITCHES.store(false, Relaxed);
            assert_eq!(dec.unwrap(), img, "adaptive {adapt}");
            assert!(helped >= 2, "adaptive {adapt}: {helped} chunks with the helper");
        }
    }

    /// The steps of rows starting at columns `offs`, counted out one column at a time: every
    /// sub-pixel of each column where a row is active.
    fn counted(offs: &[usize], width: usize, ch: usize) -> Vec<usize> {
        let end = offs.iter().max().unwrap() + width;
        (0..end)
            .filter(|&t| offs.iter().any(|&o| o <= t && t < o + width))
            .flat_map(|t| (0..ch).map(move |c| t * KEY + c))
            .collect()
    }

    /// The foreseen steps are every step in order, with gaps where rows are narrower than
    /// their distance (a wrong one would make the decoding thread wait for the wrong half).
    #[test]
    fn next_key_walks_every_step() {
        for offs in [vec![0], vec![0, 5, 10], vec![12, 17], vec![20, 25, 30, 35], vec![0, 40]] {
            for width in [1, 2, 4, 5, 6, 13] {
                for ch in 1..=4 {
                    let mut walked = Vec::new();
                    let mut k = next_key(&offs, width, ch, None);
                    while let Some(key) = k {
                        walked.push(key);
                        k = next_key(&offs, width, ch, k);
                    }
                    assert_eq!(
                        walked,
                        counted(&offs, width, ch),
                        "{offs:?}, width {width}, {ch} channels"
                    );
                }
            }
        }
    }
}

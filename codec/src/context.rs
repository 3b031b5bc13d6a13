//! Coding mode 2 of format version 6, "context": every sub-pixel range-coded, in raster order,
//! with the distribution of the context model ([`crate::cm6`]). Needs no network; the encoder
//! keeps it when it is smaller than the model's and the classical payloads (screenshots,
//! diagrams, pixel art), and stops it early where it is far behind the model's (photos). The
//! payload is one range-coder stream, as version 1's.

use constriction::stream::queue::{DefaultRangeDecoder, DefaultRangeEncoder};
use constriction::stream::{Decode, Encode};

use std::sync::Arc;

use crate::adaptive_coder::Running;
use crate::cm6::ContextModel;
use crate::error::{CodecError, Result};
use crate::quantize::{quantize, Coded, Span, Table};
use crate::signal::{Closes, Signal};
use crate::trial::context_behind;

/// Progress callback: (sub-pixels done, sub-pixels in all).
type Progress<'a> = Option<&'a (dyn Fn(u64, u64) + Sync)>;
const PROGRESS_EVERY: u64 = 1 << 14;

/// The model's coding beside the context coding in auto mode, and the context coding's: each
/// one's cost by the model's mark row ([`crate::encoder::spread_running`]), which the other
/// codings wait for.
pub(crate) struct Beside {
    pub(crate) model: Arc<Running>,
    /// The context coding's bits by the mark row (closed if it never gets there).
    pub(crate) context: Signal<f64>,
}

impl Beside {
    /// Whether the context coding stops at the mark row, [`context_behind`] the model's coding
    /// (waiting for both costs): the same answer on every thread, whatever the timing.
    pub(crate) fn context_stops(&self) -> bool {
        context_behind(self.model.mark.wait(), self.context.wait())
    }
}

/// The payload coding `coded` (W×H×C sub-pixels in raster order, each below `levels` ≤ 256);
/// None where, [`Beside`] the model's coding, it stopped at the mark row
/// ([`Beside::context_stops`]: a photo's model coding is the smaller).
pub(crate) fn encode(
    coded: &[u8],
    (width, height, ch, levels): (usize, usize, usize, usize),
    progress: Progress,
    beside: Option<&Beside>,
) -> Result<Option<Vec<u8>>> {
    // Whatever happens before the mark row, the classical coding does not wait any longer.
    let _closes = Closes(beside.map(|b| &b.context));
    debug_assert_eq!(coded.len(), width * height * ch);
    let mut model = ContextModel::new(width, height, ch, levels);
    let mut enc = DefaultRangeEncoder::new();
    let mut probs = vec![0.0f32; levels];
    let total = coded.len() as u64;
    let mut i = 0;
    for y in 0..height {
        for x in 0..width {
            for c in 0..ch {
                let v = coded[i] as usize;
                model.predict(&|j| coded[j], x, y, c, &mut probs);
                enc.encode_symbol(v, Span::of(&probs, v))
                    .map_err(|e| CodecError::BadParameter(format!("range coder: {e}")))?;
                model.update(v);
                i += 1;
                if let Some(p) = progress.filter(|_| (i as u64).is_multiple_of(PROGRESS_EVERY)) {
                    p(i as u64, total);
                }
            }
        }
        if let Some(beside) = beside.filter(|b| b.model.mark_row() == y) {
            // The words so far and the coder's state: what the rows up to here cost, within a
            // word or two.
            beside.context.set(enc.num_bits() as f64);
            if beside.context_stops() {
                return Ok(None);
            }
        }
    }
    let words = enc
        .into_compressed()
        .map_err(|e| CodecError::BadParameter(format!("range coder: {e:?}")))?;
    Ok(Some(words.iter().flat_map(|w| w.to_le_bytes()).collect()))
}

/// The W×H×C sub-pixels (raster order) that `payload` codes.
pub(crate) fn decode(
    payload: &[u8],
    (width, height, ch, levels): (usize, usize, usize, usize),
    progress: Progress,
) -> Result<Vec<u8>> {
    if payload.is_empty() || !payload.len().is_multiple_of(4) {
        return Err(CodecError::corrupt(
            "payload",
            "a non-zero multiple of 4 bytes",
            format!("{} bytes", payload.len()),
        ));
    }
    let words: Vec<u32> = payload
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut dec = DefaultRangeDecoder::from_compressed(words)
        .map_err(|_| CodecError::corrupt("payload", "a range-coder stream", "an unreadable start"))?;
    let total = width * height * ch;
    let mut model = ContextModel::new(width, height, ch, levels);
    let mut px = vec![0u8; total];
    let mut probs = vec![0.0f32; levels];
    let mut cdf = Vec::with_capacity(levels + 1);
    let mut i = 0;
    for y in 0..height {
        for x in 0..width {
            for c in 0..ch {
                model.predict(&|j| px[j], x, y, c, &mut probs);
                quantize(&probs, &mut cdf);
                let v = dec.decode_symbol(Coded(Table(&cdf))).map_err(|_| {
                    CodecError::corrupt(
                        "payload",
                        "valid range-coder data",
                        format!("invalid data at sub-pixel {i}"),
                    )
                })?;
                px[i] = v as u8;
                model.update(v);
                i += 1;
                if let Some(p) = progress.filter(|_| (i as u64).is_multiple_of(PROGRESS_EVERY)) {
                    p(i as u64, total as u64);
                }
            }
        }
    }
    Ok(px)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trial::CONTEXT_BEHIND;

    /// A synthetic screenshot-like image: flat panels, a repeated glyph, a gradient, noise.
    fn sample(w: usize, h: usize, ch: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        let mut rnd = move || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let mut px = vec![0u8; w * h * ch];
        for y in 0..h {
            for x in 0..w {
                for c in 0..ch {
                    let v = match (x / 8 + y / 8) % 4 {
                        0 => 200 + c as u32 * 10,
                        1 if (x ^ y) & 5 == 0 => 20,
                        1 => 240,
                        2 => (x * 4 + y + c * 30) as u32 % 256,
                        _ => rnd() % 256,
                    };
                    px[(y * w + x) * ch + c] = v as u8;
                }
            }
        }
        px
    }

    /// The payload coded alone (no model's coding beside it).
    fn alone(px: &[u8], geom: (usize, usize, usize, usize)) -> Vec<u8> {
        encode(px, geom, None, None)
            .unwrap()
            .expect("coded alone, the payload is finished")
    }

    fn beside(mark_row: usize) -> Beside {
        Beside {
            model: Arc::new(Running::new(mark_row)),
            context: Signal::new(),
        }
    }

    #[test]
    fn beside_the_model_it_stops_only_well_behind() {
        let (w, h) = (24, 40);
        let geom = (w, h, 3, 256);
        let px = sample(w, h, 3, 5);
        let full = alone(&px, geom);
        // The coding beside a model whose cost at row 9 is `mark` (None: closed without it),
        // its cost there, and whether it stopped.
        let at = |mark: Option<f64>| {
            let b = beside(9);
            match mark {
                Some(bits) => b.model.mark.set(bits),
                None => b.model.mark.close(),
            }
            let coded = encode(&px, geom, None, Some(&b)).unwrap();
            (coded, b.context.get(), b.context_stops())
        };
        // Rows 0 ..= 9 cost this much (the words so far, whole words).
        let (closed, bits, stops) = at(None);
        let bits = bits.expect("the mark row is coded");
        assert!(bits > 0.0 && bits % 32.0 == 0.0, "{bits}");
        // The model's coding closed without a mark (no adaptive coding): finished.
        assert_eq!((closed.as_ref(), stops), (Some(&full), false));
        // Within CONTEXT_BEHIND of the model's: finished, the same bytes as alone.
        let (near, near_bits, stops) = at(Some(bits / CONTEXT_BEHIND + 1.0));
        assert_eq!((near.as_ref(), near_bits, stops), (Some(&full), Some(bits), false));
        // Further behind: stopped at the mark row.
        let (behind, behind_bits, stops) = at(Some(bits / CONTEXT_BEHIND - 1.0));
        assert_eq!((behind, behind_bits, stops), (None, Some(bits), true));
        // A mark row it never reaches: no cost there, and what waits for it is told so.
        let b = beside(h);
        let coded = encode(&px, geom, None, Some(&b)).unwrap();
        assert_eq!((coded.as_ref(), b.context.wait()), (Some(&full), None));
    }

    #[test]
    fn beside_the_model_it_waits_for_the_mark_or_the_close() {
        let (w, h) = (16, 16);
        let px = sample(w, h, 1, 9);
        let full = alone(&px, (w, h, 1, 256));
        for mark in [Some(1.0), None] {
            let b = beside(3);
            let coded = std::thread::scope(|s| {
                let ctx = s.spawn(|| encode(&px, (w, h, 1, 256), None, Some(&b)).unwrap());
                std::thread::sleep(std::time::Duration::from_millis(50));
                // Asserted once it is released, so that a failure does not hang the test.
                let waiting = (!ctx.is_finished(), b.context.get().is_some());
                match mark {
                    Some(bits) => b.model.mark.set(bits),
                    None => drop(Closes(Some(&b.model.mark))),
                }
                let coded = ctx.join().unwrap();
                assert_eq!(waiting, (true, true), "it waits at the mark row, its cost there set");
                coded
            });
            let expected = mark.is_none().then_some(&full);
            assert_eq!(coded.as_ref(), expected, "model's mark {mark:?}");
            assert_eq!(b.context_stops(), mark.is_some());
        }
    }

    #[test]
    fn round_trips_every_layout_and_odd_sizes() {
        for ch in 1..=4 {
            for (w, h) in [(1, 1), (1, 9), (9, 1), (37, 23)] {
                let px = sample(w, h, ch, (w * 7 + h + ch) as u64);
                let geom = (w, h, ch, 256);
                let payload = alone(&px, geom);
                assert_eq!(decode(&payload, geom, None).unwrap(), px, "{w}×{h}×{ch}");
            }
        }
    }

    #[test]
    fn round_trips_fewer_levels() {
        let px: Vec<u8> = sample(20, 20, 2, 3).iter().map(|&v| v % 17).collect();
        let geom = (20, 20, 2, 17);
        let payload = alone(&px, geom);
        assert_eq!(decode(&payload, geom, None).unwrap(), px);
    }

    #[test]
    fn repeated_content_costs_little() {
        // Flat and repeated content: well under a tenth of a bit per sub-pixel.
        let (w, h) = (128, 128);
        let px: Vec<u8> = (0..w * h * 3)
            .map(|i| {
                if (i / 3 / w / 16 + i / 3 % w / 16) % 2 == 0 {
                    30
                } else {
                    220
                }
            })
            .collect();
        let payload = alone(&px, (w, h, 3, 256));
        assert!(payload.len() * 8 < w * h * 3 / 10, "{} bytes", payload.len());
    }

    #[test]
    fn damaged_payloads_are_errors_not_panics() {
        let px = sample(16, 16, 3, 1);
        let geom = (16, 16, 3, 256);
        let payload = alone(&px, geom);
        assert!(decode(&payload[..payload.len() - 1], geom, None).is_err());
        assert!(decode(&[], geom, None).is_err());
        for i in [0, payload.len() / 2, payload.len() - 4] {
            let mut bad = payload.clone();
            bad[i] ^= 0x5a;
            // Either an error or different pixels (the header's checksum catches the latter).
            if let Ok(out) = decode(&bad, geom, None) {
                assert_eq!(out.len(), px.len());
            }
        }
    }
}

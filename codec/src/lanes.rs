//! Format version 8's lanes: each substream codes L of its rows in step, so that one thread
//! decodes them in one pass over the model's weights while one range coder and one adaptive
//! state learn from all of them. The rows are cut into blocks of S·L (S substreams); in a
//! block that starts at row b, row y runs `(y − b)·D` columns behind row b (D, the delay, at
//! least the model's row lag + 2), and a substream codes its rows of the block at every tick t,
//! channel by channel, each row at column `t − (y − b)·D` while inside the image ([`order`]).
//! With L = 1 a block holds one row of each substream, and each substream codes its rows in
//! raster order (formats 3 to 7).

use crate::error::{CodecError, Result};

/// Rows of a block the encoder aims for: a thread decoding 4 to 8 rows in step runs 1.3–1.6×
/// faster than one decoding a row at a time (weights read once for all of them), and a block
/// this size keeps four rows a thread on two threads (a 512×384 photo, two substreams of four
/// lanes: 3.9 → 2.5 s).
pub const BLOCK: usize = 8;

/// Columns of slack the encoder adds to the delay where there are two substreams or more: their
/// threads' rows alternate (row y on one, y + 1 on the other), and with the least delay each
/// waits for the other at every pixel, so that a thread the system deschedules stalls both (a
/// 640×400 photo decoded on two threads beside two busy processes: 62.9 s with no slack, 18.1 s
/// with 4 columns, 4.9 s with 8 or 16, against 7.6 s for version 7). Slack costs a little size
/// (the rows in step learn less locally: +0.16 % on that photo with 8 columns, still 0.17 %
/// below version 7), so one substream, whose lanes share one thread, has none.
pub const SLACK: usize = 8;

/// The most rows a block of more than one lane may hold (a thread's rows in step).
pub const MAX_BLOCK: usize = pixelrnn_model::group::MAX_ROWS;

/// The largest delay a file may give.
pub const MAX_DELAY: usize = 1024;

/// How a model-coded payload's rows are spread and ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    /// S: row y is in substream y mod S.
    pub substreams: usize,
    /// L: rows of a substream coded in step (1: raster order).
    pub lanes: usize,
    /// D: columns between consecutive rows of a block (0 with one lane).
    pub delay: usize,
}

impl Spread {
    /// `substreams` substreams coded in raster order (formats 3 to 7).
    pub fn raster(substreams: usize) -> Spread {
        Spread {
            substreams,
            lanes: 1,
            delay: 0,
        }
    }

    /// The encoder's lanes for `substreams` substreams of a model whose rows need `row_lag`
    /// columns (None: a model without a row form, which codes in raster order): [`BLOCK`] rows
    /// a block where the substreams leave room, one lane otherwise; the delay is the lag + 2,
    /// and [`SLACK`] more with two substreams or more.
    pub fn choose(substreams: usize, row_lag: Option<usize>) -> Spread {
        match row_lag {
            Some(lag) if 2 * substreams <= BLOCK => Spread {
                substreams,
                lanes: BLOCK / substreams,
                delay: lag + 2 + if substreams > 1 { SLACK } else { 0 },
            },
            _ => Spread::raster(substreams),
        }
    }

    /// Rows a block holds (S·L): the rows in flight a decoder needs.
    pub fn block(&self) -> usize {
        self.substreams * self.lanes
    }

    /// Checks lanes and delay as read from a file.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |expected: &str, found: String| Err(CodecError::corrupt("lanes", expected, found));
        if self.lanes == 0 {
            return bad("at least one lane", "0".into());
        }
        if self.lanes == 1 && self.delay != 0 {
            return bad("no delay with one lane", format!("a delay of {}", self.delay));
        }
        if self.lanes > 1 && self.block() > MAX_BLOCK {
            return bad(
                &format!("at most {MAX_BLOCK} rows in a block"),
                format!("{} substreams of {} lanes", self.substreams, self.lanes),
            );
        }
        if self.lanes > 1 && !(1..=MAX_DELAY).contains(&self.delay) {
            return bad(&format!("a delay of 1 to {MAX_DELAY} columns"), self.delay.to_string());
        }
        Ok(())
    }

    /// The row lag a row model decoding these lanes is given (the delay less 2); an error if
    /// the model's own lag is larger (the file was not written for this model).
    pub(crate) fn group_lag(&self, model_lag: usize) -> Result<usize> {
        if self.lanes == 1 {
            return Ok(model_lag);
        }
        match self.delay.checked_sub(2) {
            Some(lag) if lag >= model_lag => Ok(lag),
            _ => Err(CodecError::corrupt(
                "lanes",
                format!("a delay of at least {} columns for this model", model_lag + 2),
                self.delay,
            )),
        }
    }
}

/// Calls `f(y, x, c)` for the sub-pixels substream `s` codes in the block of rows starting at
/// `start` (a multiple of the block), in the order it codes them (raster order for one row).
pub(crate) fn order(
    spread: Spread,
    (width, height, ch): (usize, usize, usize),
    start: usize,
    s: usize,
    mut f: impl FnMut(usize, usize, usize) -> Result<()>,
) -> Result<()> {
    let end = (start + spread.block()).min(height);
    let rows: Vec<usize> = (start..end).filter(|y| y % spread.substreams == s).collect();
    let Some(&last) = rows.last() else {
        return Ok(());
    };
    let off = |y: usize| (y - start) * spread.delay;
    for t in off(rows[0])..off(last) + width {
        for c in 0..ch {
            for &y in &rows {
                if let Some(x) = t.checked_sub(off(y)).filter(|&x| x < width) {
                    f(y, x, c)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(spread: Spread, geometry: (usize, usize, usize), start: usize, s: usize) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        order(spread, geometry, start, s, |y, x, c| {
            out.push((y, x, c));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn the_encoder_fills_blocks_of_eight() {
        assert_eq!(
            Spread::choose(1, Some(3)),
            Spread {
                substreams: 1,
                lanes: 8,
                delay: 5
            }
        );
        assert_eq!(
            Spread::choose(2, Some(1)),
            Spread {
                substreams: 2,
                lanes: 4,
                delay: 3 + SLACK
            }
        );
        assert_eq!(Spread::choose(3, Some(1)).lanes, 2);
        assert_eq!(Spread::choose(4, Some(1)).block(), 8);
        assert_eq!(Spread::choose(5, Some(1)), Spread::raster(5));
        assert_eq!(Spread::choose(8, Some(1)), Spread::raster(8));
        assert_eq!(Spread::choose(1, None), Spread::raster(1), "no row form: raster order");
        for s in 1..=12 {
            assert!(Spread::choose(s, Some(2)).check().is_ok());
        }
    }

    #[test]
    fn bad_lanes_are_refused() {
        let sp = |substreams, lanes, delay| Spread {
            substreams,
            lanes,
            delay,
        };
        assert!(sp(1, 0, 0).check().is_err());
        assert!(sp(2, 1, 3).check().is_err(), "a delay with one lane");
        assert!(sp(3, 3, 4).check().is_err(), "nine rows in step");
        assert!(sp(1, 8, 0).check().is_err() && sp(1, 8, MAX_DELAY + 1).check().is_err());
        assert!(sp(64, 1, 0).check().is_ok() && sp(1, 8, 3).check().is_ok());
        assert!(sp(1, 8, 4).group_lag(3).is_err(), "a delay too short for the model");
        assert_eq!(sp(1, 8, 5).group_lag(3).unwrap(), 3);
        assert_eq!(sp(2, 1, 0).group_lag(3).unwrap(), 3);
    }

    /// Every sub-pixel of a block once, each row in raster order, each row `delay` columns per
    /// row behind the block's first, channel by channel across the rows at each tick.
    #[test]
    fn lanes_code_a_block_in_step() {
        let spread = Spread {
            substreams: 2,
            lanes: 2,
            delay: 3,
        };
        let (w, h, ch) = (5, 7, 2);
        let mut all = Vec::new();
        for start in (0..h).step_by(spread.block()) {
            for s in 0..2 {
                let o = collect(spread, (w, h, ch), start, s);
                for y in (start..(start + 4).min(h)).filter(|y| y % 2 == s) {
                    let mine: Vec<_> = o.iter().filter(|p| p.0 == y).map(|p| (p.1, p.2)).collect();
                    let raster: Vec<_> = (0..w).flat_map(|x| (0..ch).map(move |c| (x, c))).collect();
                    assert_eq!(mine, raster, "row {y} in raster order");
                }
                all.extend(o);
            }
        }
        all.sort_unstable();
        let every: Vec<_> = (0..h)
            .flat_map(|y| (0..w).flat_map(move |x| (0..ch).map(move |c| (y, x, c))))
            .collect();
        assert_eq!(all, every);
        // Substream 0 of the first block: rows 0 and 2, row 2 six columns behind.
        let o = collect(spread, (w, h, ch), 0, 0);
        assert_eq!(&o[..4], &[(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)]);
        let k = o.iter().position(|&p| p == (2, 0, 0)).unwrap();
        assert_eq!(&o[k - 1..k + 3], &[(0, 4, 1), (2, 0, 0), (2, 0, 1), (2, 1, 0)]);
        // A block cut short by the image keeps its rows' offsets.
        let o = collect(spread, (w, h, ch), 4, 0);
        assert_eq!(o.iter().filter(|p| p.0 == 6).count(), w * ch);
        // One lane: raster order.
        let o = collect(Spread::raster(3), (w, h, ch), 3, 1);
        assert_eq!(o.len(), w * ch);
        assert!(o.iter().all(|p| p.0 == 4) && o.windows(2).all(|p| p[0] < p[1]));
    }

    #[test]
    fn channels_interleave_across_the_rows_at_a_tick() {
        let spread = Spread {
            substreams: 1,
            lanes: 2,
            delay: 1,
        };
        let o = collect(spread, (3, 2, 2), 0, 0);
        assert_eq!(
            o,
            [
                (0, 0, 0),
                (0, 0, 1),
                (0, 1, 0),
                (1, 0, 0),
                (0, 1, 1),
                (1, 0, 1),
                (0, 2, 0),
                (1, 1, 0),
                (0, 2, 1),
                (1, 1, 1),
                (1, 2, 0),
                (1, 2, 1)
            ]
        );
    }
}

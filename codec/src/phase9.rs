//! Format version 9's context stage per pixel phase (`FORMAT.md`, "Version 9"): beside
//! version 7's context stage, four more, one for each phase (y mod 2, x mod 2) of the pixel,
//! learn from row 0; from the phase row on ([`phase_row`]) the coded distribution is the
//! pixel's phase stage's, where the header's phase flag says so. Photos that went through JPEG's
//! 2×2 chroma subsampling carry a pattern of period 2 in both directions, which one stage
//! averages away: they code up to 2.6 % smaller. Images without it (screenshots, drawings) would
//! lose up to half their size again, so the encoder chooses per file ([`choose`]), from what the
//! two had cost before the phase row.

use crate::ctx7::CtxStage;
use crate::lanes::Spread;
use crate::trial::mark_row;

/// The phase stages must have cost at least this many bits less than version 7's stage in the
/// second half of the rows before the phase row to be chosen. There, in the spread the encoder
/// keeps, the photos of `photos/valid` that gain in the end (RGB FreshFlower −0.3 % and beam
/// −1.1 %, grey FreshFlower −1.1 %, YellowFlower −0.2 % and beam −2.6 %) had gained 68 to 516
/// bits (0.03–2.3 %: beam's top quarter shows little of the pattern); the others had lost up
/// to 0.1 %, and the `varied` images up to 80 % (one flat diagram gained 3 bits of 514).
/// Choosing wrongly costs a photo up to 0.3 %.
pub(crate) const MIN_BITS: f64 = 32.0;

/// The first row coded with the phase stages (where the flag is set): the first row of the
/// block of rows ([`Spread::block`], one row in raster order) after the one that holds the
/// first quarter's last row (`mark_row`). Rows before it are coded with version 7's stage,
/// the phase stages learning beside it; at or past the height, the phase stages are never
/// coded with (the encoder does not set the flag).
pub fn phase_row(height: usize, spread: Spread) -> usize {
    let b = if spread.lanes > 1 { spread.block() } else { 1 };
    (mark_row(height) / b + 1) * b
}

/// The encoder's choice from the bits that version 7's stage and the phase stages cost in the
/// second half of the rows before the phase row (from row ⌈phase row / 2⌉ on: the first half
/// is the phase stages' warm-up), all substreams together: the phase stages where they cost
/// [`MIN_BITS`] less at least.
pub(crate) fn choose(one: f64, phased: f64) -> bool {
    phased + MIN_BITS <= one
}

/// The four phase stages of one substream, each made when its phase first comes (a substream
/// of an even number of them sees two phases only).
pub(crate) struct Phases {
    stages: [Option<Box<CtxStage>>; 4],
    /// What a stage is made for: (width, rows, substreams sharing), channels, levels.
    geometry: ((usize, usize, usize), usize, usize),
    /// The phase row.
    from: usize,
    /// The current sub-pixel's phase; whether it is coded with its phase stage; whether its
    /// costs count towards `bits`.
    cur: usize,
    pub(crate) coding: bool,
    pub(crate) counted: bool,
    /// Whether the costs are measured at all (the encoder's choice; a decoder never reads them).
    pub(crate) measuring: bool,
    /// Where a phase stage's distribution goes while version 7's is coded.
    scratch: Vec<f32>,
    /// The bits version 7's stage and the phase stages cost in the second half of the rows
    /// before the phase row (statistics, for the encoder's choice).
    pub(crate) bits: [f64; 2],
}

impl Phases {
    /// For a substream of `spread` coding `rows` rows of a raster `width` pixels wide of
    /// `channels` channels of `levels` levels, coded from row `from` on: each stage is version
    /// 7's for four times the substreams (the four share one stage's table memory), at most 64
    /// (the most whose tables version 6's sizes allow).
    pub(crate) fn new(
        (width, rows, spread): (usize, usize, Spread),
        channels: usize,
        levels: usize,
        from: usize,
    ) -> Phases {
        let sharing = (spread.substreams * 4).min(64);
        Phases {
            stages: [None, None, None, None],
            geometry: ((width, rows, sharing), channels, levels),
            from,
            cur: 0,
            coding: false,
            counted: false,
            measuring: false,
            scratch: vec![0.0; levels],
            bits: [0.0; 2],
        }
    }

    /// Sub-pixel (y, x) is next: its phase; whether its phase stage is coded (from the phase
    /// row on).
    pub(crate) fn at(&mut self, y: usize, x: usize) -> bool {
        self.cur = (y % 2) * 2 + x % 2;
        if self.stages[self.cur].is_none() {
            let (g, channels, levels) = self.geometry;
            self.stages[self.cur] = Some(Box::new(CtxStage::new(g, channels, levels)));
        }
        self.coding = y >= self.from;
        self.counted = self.measuring && 2 * y >= self.from;
        self.coding
    }

    /// The current phase's stage.
    pub(crate) fn stage(&mut self) -> &mut CtxStage {
        self.stages[self.cur].as_mut().expect("made by `at`")
    }

    /// Before the phase row: the current phase stage's distribution from version 5's `lin` (the
    /// sub-pixel's contexts located by `get`), into the scratch buffer, to learn from.
    pub(crate) fn shadow(&mut self, get: &dyn Fn(usize) -> u8, (y, x, c): (usize, usize, usize), lin: &[f32]) {
        let stage = self.stages[self.cur].as_mut().expect("made by `at`");
        stage.prepare(get, (y, x, c));
        stage.lin_mut().copy_from_slice(lin);
        stage.finish(&mut self.scratch);
    }

    /// Learns from the value `v` of the current sub-pixel; returns the probability its phase
    /// stage gave it.
    pub(crate) fn update(&mut self, v: usize) -> f32 {
        self.stage().update(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_row_follows_the_first_quarter_in_whole_blocks() {
        assert_eq!(phase_row(400, Spread::raster(2)), 100);
        assert_eq!(
            phase_row(
                400,
                Spread {
                    substreams: 2,
                    lanes: 4,
                    delay: 3
                }
            ),
            104
        );
        assert_eq!(phase_row(1, Spread::raster(1)), 1);
        assert_eq!(
            phase_row(
                847,
                Spread {
                    substreams: 4,
                    lanes: 2,
                    delay: 3
                }
            ),
            216
        );
    }

    /// Up to 64 substreams (what a file may have), the four stages' tables are valid.
    #[test]
    fn phase_stages_exist_for_every_substream_count() {
        for s in [1, 3, 16, 17, 64] {
            let mut p = Phases::new((5, 2, Spread::raster(s)), 4, 256, 1);
            for (y, x) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                p.at(y, x);
            }
            assert!(p.stages.iter().all(Option::is_some));
        }
    }

    #[test]
    fn the_phases_must_gain_their_margin() {
        assert!(choose(100_000.0, 99_000.0));
        assert!(choose(244_580.0, 244_512.0));
        assert!(!choose(1000.0, 970.0));
        assert!(choose(1000.0, 968.0));
        assert!(!choose(100_000.0, 100_001.0));
    }
}

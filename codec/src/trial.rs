//! The rule that chooses one substream over the encoder's spread of rows (the trial in
//! [`crate::encoder`]): where the spread is cheap, one substream is kept when it has gained by
//! the first quarter of the image and is clearly smaller in the end.

/// Whether the one-substream trial has cost at least `min_gain` less than the spread by the end
/// of [`mark_row`], from their adaptive codings' bits there (None: not known). Some(false) stops
/// the trial, and the spread is kept.
pub(crate) fn gaining(spread: Option<f64>, trial: Option<f64>, min_gain: f64) -> Option<bool> {
    Some(trial? <= spread? * (1.0 - min_gain))
}

/// What the trial must have gained by [`mark_row`] (see [`gaining`]): what it must gain in the
/// end ([`clearly_smaller`]). Images that repeat themselves show their gain early: the 30 images
/// of `varied` had gained 1.3–45 % by then (format version 11). Photos had gained under 0.7 %
/// or lost, and their spread is the smaller file in the end, so their trial stops there and
/// saves its adaptive coding (at 0.5 %, Kite's trial, 0.66 % ahead, ran to 90 % of the image:
/// a third more encoding time).
pub(crate) const MIN_GAIN: f64 = 0.01;

/// The last row of an image's first quarter: where the trial's gain is checked ([`gaining`]).
pub(crate) fn mark_row(height: usize) -> usize {
    height.div_ceil(4).max(1) - 1
}

/// The encoder's default tries one substream as well where the spread rows cost under this
/// many bits per sub-pixel: screenshots, clip art and renders, where each substream learning its
/// statistics and its context stage from every S-th row only costs up to 9 % (`varied`); photos
/// cost 1.5 to 4.5 and gain under 0.5 %.
pub(crate) const ONE_BELOW: f64 = 2.0;

/// The one-substream trial runs beside the spread (sharing the network's pass) until, from a
/// sixteenth of the image on, the spread has cost more than [`ONE_BELOW`] plus this margin
/// times the part of the image still to code, in bits a sub-pixel: the margin narrows as the
/// estimate firms up, so photos stop the trial after a sixteenth and images ending just above
/// [`ONE_BELOW`] soon after; the rest of the trial's adaptive coding is saved. Where the spread
/// ends below [`ONE_BELOW`] after all, a second pass codes the trial.
pub(crate) const MARGIN: f64 = 0.5;

/// How much more than the model's adaptive coding the context coding may have cost by the
/// model's mark row ([`mark_row`], block-aligned with lanes) and still be finished: in auto mode
/// it runs beside the model's coding and, past this, stops there and is not offered. Measured
/// at that row (`compress`, format version 11): the six validation photos' context coding cost
/// 1.13–1.26 times the model's, and that of every `varied` image whose file is the context
/// coding 0.90; `varied` runs from 0.56 to 1.35 (the solar star), and the five images above
/// 1.10 all keep the model's coding.
pub(crate) const CONTEXT_BEHIND: f64 = 1.10;

/// Whether the context coding, at `context` bits by the model's mark row, is dropped against
/// the model's adaptive coding at `model` bits there ([`CONTEXT_BEHIND`]; None: not known, and
/// it is kept).
pub(crate) fn context_behind(model: Option<f64>, context: Option<f64>) -> bool {
    matches!((model, context), (Some(m), Some(c)) if c > m * CONTEXT_BEHIND)
}

/// Whether `a` bytes are at least 1 % fewer than `b`: what a payload must save to be kept over
/// one that decodes faster (one substream over several, the model coding over a coding without
/// a model).
pub(crate) fn clearly_smaller(a: u64, b: u64) -> bool {
    u128::from(a) * 100 <= u128::from(b) * 99
}

#[cfg(test)]
mod tests {
    use super::{clearly_smaller, context_behind, gaining, mark_row, MIN_GAIN};

    #[test]
    fn gaining_needs_both_marks_and_the_gain() {
        assert_eq!(gaining(Some(100.0), Some(99.5), 0.005), Some(true));
        assert_eq!(gaining(Some(100.0), Some(99.6), 0.005), Some(false));
        assert_eq!(gaining(Some(100.0), Some(120.0), 0.005), Some(false));
        assert_eq!(gaining(None, Some(1.0), 0.005), None);
        assert_eq!(gaining(Some(1.0), None, 0.005), None);
        assert_eq!(mark_row(520), 129);
        assert_eq!(mark_row(128), 31);
        assert_eq!(mark_row(1), 0);
    }

    #[test]
    fn the_trial_must_be_on_course_by_the_quarter() {
        // Kite (format version 11): 0.66 % ahead at the quarter, never 1 % in the end.
        assert_eq!(gaining(Some(100.0), Some(99.34), MIN_GAIN), Some(false));
        // The gryphon portrait (`varied`), 2.0 % ahead: its trial goes on.
        assert_eq!(gaining(Some(100.0), Some(98.0), MIN_GAIN), Some(true));
        // What the trial must gain by the quarter is what it must gain in the end.
        assert_eq!(
            gaining(Some(100.0), Some(99.0), MIN_GAIN),
            Some(clearly_smaller(99, 100))
        );
    }

    #[test]
    fn the_context_coding_is_dropped_only_well_behind() {
        // Kleiber, the photo nearest the bound: 1.127.
        assert!(context_behind(Some(2_946_439.0), Some(3_321_819.0)));
        // The freeciv tiles: 1.049.
        assert!(!context_behind(Some(211_666.0), Some(222_069.0)));
        assert!(!context_behind(Some(100.0), Some(110.0)));
        assert!(context_behind(Some(100.0), Some(110.1)));
        assert!(!context_behind(None, Some(1e9)));
        assert!(!context_behind(Some(1.0), None));
    }

    #[test]
    fn clearly_smaller_is_one_percent() {
        assert!(clearly_smaller(99, 100));
        assert!(!clearly_smaller(100, 100));
        assert!(!clearly_smaller(991, 1000));
        assert!(clearly_smaller(990, 1000));
        assert!(!clearly_smaller(u64::MAX, u64::MAX));
        assert!(clearly_smaller(0, 1));
    }
}

//! Tests of the encoder's model path ([`super`]): the one-substream trial and its rule.

use super::{encode_model, encode_model_with, encode_rows, Sources, Spread};
use crate::image::Image;
use crate::mock::Mock;
use crate::options::{EncodeOptions, ModeChoice};
use crate::trial::{clearly_smaller, gaining, MARGIN, MIN_GAIN, ONE_BELOW};

/// 520 rows (two substreams by default) of 24 pixels: `flat` a pattern that repeats every
/// 8 rows (under 2 bits a sub-pixel with the adaptive coding only), else noise.
fn image(flat: bool) -> Image {
    let px = (0..24 * 520u32)
        .map(|i| {
            let (x, y) = (i % 24, i / 24);
            if flat {
                [16, 16, 17, 16, 20, 16, 16, 18][((x * 5 + y) % 8) as usize]
            } else {
                let h = (i ^ (i >> 7)).wrapping_mul(0x7feb_352d);
                let h = (h ^ (h >> 15)).wrapping_mul(0x846c_a68b);
                (h ^ (h >> 16)) as u8
            }
        })
        .collect();
    Image::new(24, 520, 1, px).unwrap()
}

/// The one-substream trial shares the spread's network pass and gives the file that two
/// separate passes and the rule (spread under [`ONE_BELOW`], one [`gaining`] by
/// [`mark_row`] and [`clearly_smaller`] at the end) give, whether it ran to the end or
/// stopped early (a second pass where the rule needs it). A trial asked to gain 90 % by its
/// mark cannot, and stops there.
#[test]
fn the_trial_shares_the_pass_and_chooses_as_two_passes_would() {
    let m = Mock {
        channels: 1,
        levels: 256,
        id: [1; 32],
    };
    for flat in [true, false] {
        let img = image(flat);
        for (adapt, threads) in [(true, 1), (true, 2), (false, 2)] {
            let opts = EncodeOptions {
                mode: ModeChoice::Model,
                adapt,
                threads,
                ..Default::default()
            };
            let src = Sources {
                image: &img,
                coded: &img.pixels,
                coded_channels: 1,
                model: &m,
                opts: &opts,
            };
            let (spread, one) = (
                encode_rows(&src, Spread::raster(2), None, None).unwrap(),
                encode_rows(&src, Spread::raster(1), None, None).unwrap(),
            );
            assert_eq!(spread.spread_mark.is_some(), adapt);
            let cheap = spread.spread.header.bits_per_subpixel() < ONE_BELOW;
            assert_eq!(cheap, flat && adapt, "flat {flat}, adapt {adapt}");
            let smaller = clearly_smaller(one.spread.header.payload_len, spread.spread.header.payload_len);
            if flat && adapt {
                assert!(smaller, "the test needs one substream to win");
            }
            for min_gain in [MIN_GAIN, 0.9] {
                let gains = gaining(spread.spread_mark, one.spread_mark, min_gain) != Some(false);
                if flat && adapt {
                    assert_eq!(gains, min_gain == MIN_GAIN, "the flat image gains, but not 90 %");
                }
                let expect = if cheap && gains && smaller {
                    &one.spread
                } else {
                    &spread.spread
                };
                let what = format!("flat {flat}, adapt {adapt}, {threads} thread(s), gain {min_gain}");
                let run =
                    |margin| encode_model_with(&img, &img.pixels, 1, &m, &opts, (margin, min_gain), None).unwrap();
                assert_eq!(run(MARGIN).bytes, expect.bytes, "{what}");
                if min_gain == MIN_GAIN {
                    let default = encode_model(&img, &img.pixels, 1, &m, &opts, None).unwrap();
                    assert_eq!(default.bytes, expect.bytes, "{what}: the default");
                }
                assert_eq!(run(f64::INFINITY).bytes, expect.bytes, "{what}: the trial to the end");
                assert_eq!(run(-99.0).bytes, expect.bytes, "{what}: the trial stopped");
                assert_eq!(run(MARGIN).model_bits, spread.spread.model_bits, "{what}");
                if threads == 1 && flat && adapt {
                    // On one thread the trial's adaptive coding is inline, so it stops at
                    // the mark when it has not gained.
                    let tried = encode_rows(&src, Spread::raster(2), Some((f64::INFINITY, min_gain)), None).unwrap();
                    assert_eq!(tried.trial.is_some(), gains, "{what}");
                }
            }
        }
    }
}

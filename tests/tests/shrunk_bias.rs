//! Format version 11: the experts' bias per (activity, texture) context shrunk towards its
//! activity's mean error, and the correction learnt faster. Smooth, noisy images (what photos
//! look like to the experts: many texture contexts, few errors in each, fewer still with the
//! rows spread over substreams) code smaller than in version 10 in one to three channels and
//! within 1 % of it with alpha (the synthetic alpha here is another noisy gradient), round-trip
//! on any thread count in every channel count and spread, and version 10 files are unchanged
//! (`golden_v10`).

use pixelrnn_tests::{smooth_image, tiny_engine, two_versions};

#[test]
fn smooth_noisy_images_code_smaller_with_the_shrunk_bias_and_round_trip() {
    for c in 1..=4u8 {
        let img = smooth_image(64, 48, c, 70 + c as u64);
        let model = tiny_engine(c as usize, 11);
        for substreams in [None, Some(1), Some(3)] {
            let what = format!("smooth image, {c} channel(s), substreams {substreams:?}");
            let (v11, v10) = two_versions(&img, &model, (11, 10), substreams, &what);
            assert!(v11.header.adaptive(), "{what}: the adaptive coding should be kept");
            let (a, b) = (v11.bytes.len(), v10.bytes.len());
            if c < 4 {
                assert!(a < b, "{what}: version 11 {a} bytes, version 10 {b}");
            } else {
                assert!(a * 100 < b * 101, "{what}: version 11 {a} bytes, version 10 {b}");
            }
        }
    }
}

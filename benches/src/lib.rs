//! Shared helpers for the benches: a deterministic photo-like test image.

use pixelrnn_model::rng::SplitMix64;

/// A smooth gradient with noise, `w`×`h`×`c`.
pub fn test_image(w: usize, h: usize, c: usize) -> Vec<u8> {
    let mut rng = SplitMix64::new(1);
    let mut v = Vec::with_capacity(w * h * c);
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                v.push(((x * 3 + y * 2 + k * 40) % 250 + rng.below(6) as usize) as u8);
            }
        }
    }
    v
}

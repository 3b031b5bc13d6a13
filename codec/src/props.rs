//! Property tests (proptest): the container and the quantiser.

use proptest::prelude::*;

use crate::container::{Header, Limits, Mode, FLAG_OPAQUE_ALPHA};
use crate::quantize::{quantize, TOTAL};

fn header() -> impl Strategy<Value = Header> {
    (
        1u8..=4,
        any::<bool>(),
        2u16..=256,
        1u32..5000,
        1u32..5000,
        any::<[u8; 32]>(),
        any::<u32>(),
        0u64..64,
        (0u8..4, 1u32..=4),
    )
        .prop_map(
            |(channels, drop, levels, width, height, model_id, pixel_crc, words, (kind, index))| {
                let drop = drop && channels % 2 == 0;
                // kind 0: version 1; version 2 with 1: a built-in model, 2: a model by id, 3: classical.
                let (version, mode, builtin, model_id, payload_len) = match kind {
                    0 => (1, Mode::Model, None, model_id, words * 4),
                    1 => (
                        2,
                        Mode::Model,
                        Some(index),
                        pixelrnn_model::defaults::builtin_id(index).unwrap(),
                        words * 4 + 4,
                    ),
                    2 => (2, Mode::Model, None, model_id, words * 4 + 4),
                    _ => (2, Mode::Classical, None, [0; 32], words * 3 + 1),
                };
                Header {
                    version,
                    mode,
                    builtin,
                    flags: if drop { FLAG_OPAQUE_ALPHA } else { 0 },
                    channels,
                    coded_channels: channels - u8::from(drop),
                    levels,
                    width,
                    height,
                    model_id,
                    pixel_crc,
                    payload_len,
                    metadata: Vec::new(),
                }
            },
        )
}

proptest! {
    #[test]
    fn parse_after_write_is_identity(h in header(), fill in any::<u8>()) {
        let mut f = h.to_bytes();
        f.extend(std::iter::repeat_n(fill, h.payload_len as usize));
        let limits = Limits { max_pixels: u64::MAX, max_payload: u64::MAX };
        prop_assert_eq!(Header::parse(&f, &limits).unwrap(), h);
    }

    #[test]
    fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Header::parse(&bytes, &Limits::default());
    }

    #[test]
    fn single_byte_changes_in_the_header_are_rejected(h in header(), at in 0..1000usize, x in 1u8..=255) {
        let mut f = h.to_bytes();
        let at = at % f.len();
        f.extend(std::iter::repeat_n(0, h.payload_len as usize));
        f[at] ^= x;
        let limits = Limits { max_pixels: u64::MAX, max_payload: u64::MAX };
        prop_assert!(Header::parse(&f, &limits).is_err());
    }

    #[test]
    fn quantiser_nonzero_exact_total(raw in proptest::collection::vec(0f32..1.0, 2..300)) {
        let s: f32 = raw.iter().sum::<f32>().max(1e-30);
        let p: Vec<f32> = raw.iter().map(|x| x / s).collect();
        let mut cdf = Vec::new();
        quantize(&p, &mut cdf);
        prop_assert_eq!(cdf.len(), p.len() + 1);
        prop_assert_eq!(cdf[0], 0);
        prop_assert_eq!(*cdf.last().unwrap(), TOTAL);
        prop_assert!(cdf.windows(2).all(|w| w[1] > w[0]));
    }

    #[test]
    fn quantiser_is_monotone_outside_the_adjusted_level(raw in proptest::collection::vec(0f32..1.0, 2..64)) {
        let s: f32 = raw.iter().sum::<f32>().max(1e-30);
        let p: Vec<f32> = raw.iter().map(|x| x / s).collect();
        let mut cdf = Vec::new();
        quantize(&p, &mut cdf);
        let f: Vec<u32> = cdf.windows(2).map(|w| w[1] - w[0]).collect();
        // The adjusted level: the first one of largest pre-adjustment frequency.
        let free = (TOTAL - p.len() as u32) as f32;
        let pre: Vec<u32> = p.iter().map(|&x| 1 + (x.clamp(0.0, 1.0) * free) as u32).collect();
        let best = (0..p.len()).fold(0, |b, i| if pre[i] > pre[b] { i } else { b });
        for i in 0..p.len() {
            for j in 0..p.len() {
                if i != best && j != best && p[i] < p[j] {
                    prop_assert!(f[i] <= f[j]);
                }
            }
        }
    }

    #[test]
    fn quantiser_never_panics(p in proptest::collection::vec(any::<f32>(), 2..300)) {
        let mut cdf = Vec::new();
        quantize(&p, &mut cdf);
        prop_assert_eq!(*cdf.last().unwrap(), TOTAL);
        prop_assert!(cdf.windows(2).all(|w| w[1] > w[0]));
    }
}

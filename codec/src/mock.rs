//! A tiny mock model for codec tests: each sub-pixel's distribution peaks at the previous
//! sub-pixel's value, so the coder sees skewed, context-dependent distributions.

use pixelrnn_model::{Arith, Dist, ModelId};

use crate::container::Limits;
use crate::decoder::decode;
use crate::driver::encode;
use crate::error::{CodecError, Result};
use crate::image::Image;
use crate::model::{ProbabilityModel, SequentialModel};
use crate::options::{DecodeOptions, EncodeOptions, ModeChoice};

pub struct Mock {
    pub channels: usize,
    pub levels: usize,
    pub id: ModelId,
}

fn dist(prev: u8, levels: usize, probs: &mut [f32]) {
    let mut s = 0.0;
    for (v, p) in probs.iter_mut().enumerate() {
        let d = (v as f32 - prev as f32).abs();
        *p = 1.0 / (1.0 + d * d);
        s += *p;
    }
    for p in probs.iter_mut().take(levels) {
        *p /= s;
    }
}

impl ProbabilityModel for Mock {
    fn channels(&self) -> usize {
        self.channels
    }
    fn levels(&self) -> usize {
        self.levels
    }
    fn id(&self) -> ModelId {
        self.id
    }
    fn batch(
        &self,
        _: Arith,
        px: &[u8],
        _: usize,
        _: usize,
        _: usize,
        sink: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>,
    ) -> Result<()> {
        let mut probs = vec![0.0; self.levels];
        let mut prev = 0;
        for &v in px {
            dist(prev, self.levels, &mut probs);
            sink(Dist::Probs(&probs), v)?;
            prev = v;
        }
        Ok(())
    }
    fn sequential<'a>(&'a self, _: Arith, _: usize, _: usize) -> Box<dyn SequentialModel + 'a> {
        Box::new(MockSeq {
            levels: self.levels,
            prev: 0,
            probs: vec![0.0; self.levels],
        })
    }
}

struct MockSeq {
    levels: usize,
    prev: u8,
    probs: Vec<f32>,
}

impl SequentialModel for MockSeq {
    fn next_dist(&mut self) -> Dist<'_> {
        dist(self.prev, self.levels, &mut self.probs);
        Dist::Probs(&self.probs)
    }
    fn push(&mut self, value: u8) {
        self.prev = value;
    }
}

/// The model path only (these tests are about it); the classical path and the choice are tested
/// at the end.
fn model_only() -> EncodeOptions<'static> {
    EncodeOptions {
        mode: ModeChoice::Model,
        adapt: false,
        ..Default::default()
    }
}

fn mock(channels: usize) -> Mock {
    Mock {
        channels,
        levels: 256,
        id: [channels as u8; 32],
    }
}

fn smooth(w: u32, h: u32, c: u8, seed: u32) -> Image {
    let px = (0..w * h * c as u32)
        .map(|i| ((i / c as u32 + seed).wrapping_mul(2_654_435_761) >> 29) as u8 + (i % 7) as u8 * 20)
        .collect();
    Image::new(w, h, c, px).unwrap()
}

#[test]
fn round_trips_every_layout_and_shape() {
    for c in 1..=4u8 {
        for (w, h) in [(1, 1), (1, 9), (9, 1), (7, 5), (16, 3)] {
            let img = smooth(w, h, c, w * 7 + h);
            let m = mock(img.coded_channels(true) as usize);
            let enc = encode(&img, &m, &model_only()).unwrap();
            let dec = decode(&enc.bytes, &m, &DecodeOptions::default()).unwrap();
            assert_eq!(dec, img, "{w}×{h}×{c}");
        }
    }
}

#[test]
fn opaque_alpha_is_dropped_and_restored() {
    let mut img = smooth(5, 4, 4, 1);
    for p in img.pixels.chunks_exact_mut(4) {
        p[3] = 255;
    }
    let enc = encode(&img, &mock(3), &model_only()).unwrap();
    assert_eq!(enc.header.coded_channels, 3);
    assert!(enc.header.opaque_alpha_dropped());
    assert_eq!(decode(&enc.bytes, &mock(3), &DecodeOptions::default()).unwrap(), img);
    let keep = EncodeOptions {
        drop_opaque_alpha: false,
        ..model_only()
    };
    let enc4 = encode(&img, &mock(4), &keep).unwrap();
    assert_eq!(decode(&enc4.bytes, &mock(4), &DecodeOptions::default()).unwrap(), img);
    assert!(enc4.bytes.len() >= enc.bytes.len());
}

#[test]
fn wrong_model_is_refused() {
    let img = smooth(4, 4, 3, 2);
    assert!(matches!(
        encode(&img, &mock(1), &model_only()),
        Err(CodecError::ModelMismatch(_))
    ));
    let enc = encode(&img, &mock(3), &model_only()).unwrap();
    let other = Mock { id: [9; 32], ..mock(3) };
    let e = decode(&enc.bytes, &other, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(e, CodecError::ModelMismatch(_)), "{e}");
    assert!(e.to_string().contains("--model"));
}

#[test]
fn damaged_payload_never_decodes_silently() {
    let img = smooth(12, 9, 3, 3);
    let m = mock(3);
    let enc = encode(&img, &m, &model_only()).unwrap();
    for byte in enc.header.header_len()..enc.bytes.len() {
        for bit in [0, 3, 7] {
            let mut f = enc.bytes.clone();
            f[byte] ^= 1 << bit;
            match decode(&f, &m, &DecodeOptions::default()) {
                Err(CodecError::Corrupt { .. }) => {}
                // Slack bits at the end of the last word carry no information.
                Ok(dec) if dec == img => {}
                other => panic!("byte {byte} bit {bit}: {other:?}"),
            }
        }
    }
}

#[test]
fn limits_refuse_large_images() {
    let img = smooth(8, 8, 1, 4);
    let enc = encode(&img, &mock(1), &model_only()).unwrap();
    let opts = DecodeOptions {
        limits: Limits {
            max_pixels: 63,
            ..Limits::default()
        },
        ..Default::default()
    };
    assert!(matches!(
        decode(&enc.bytes, &mock(1), &opts),
        Err(CodecError::Limit { .. })
    ));
}

#[test]
fn code_length_matches_model_bits() {
    let img = smooth(40, 30, 3, 5);
    let enc = encode(&img, &mock(3), &model_only()).unwrap();
    let payload_bits = (enc.header.payload_len * 8) as f64;
    assert!(
        payload_bits <= enc.model_bits * 1.005 + 64.0,
        "{payload_bits} vs {}",
        enc.model_bits
    );
    assert!(payload_bits >= enc.quantised_bits - 64.0);
}

/// Auto mode keeps the smaller stream: the classical one for a flat image, the model's for the
/// noise the mock model predicts; both decode, the classical one with any model; version 1 files
/// are still written (model only) and read.
#[test]
fn auto_mode_keeps_the_smaller_stream_and_every_version_decodes() {
    use crate::container::Mode;
    let flat = Image::new(40, 30, 3, vec![77; 40 * 30 * 3]).unwrap();
    let m = mock(3);
    let in_version = |img: &Image, version| {
        encode(
            img,
            &m,
            &EncodeOptions {
                version,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let auto = encode(&flat, &m, &EncodeOptions::default()).unwrap();
    assert!(!auto.header.mode.needs_model());
    let (model_len, classical_len, context_len) = auto.candidates;
    // The classical coding is finished only where it could be kept.
    let full_classical = encode(
        &flat,
        &m,
        &EncodeOptions {
            mode: ModeChoice::Classical,
            ..Default::default()
        },
    )
    .unwrap()
    .header
    .payload_len;
    let (classical_len, context_len) = (classical_len.unwrap_or(full_classical), context_len.unwrap());
    let kept = classical_len.min(context_len);
    assert!(kept < model_len.unwrap());
    assert_eq!(auto.header.header_len(), auto.bytes.len() - kept as usize);
    let expected = if classical_len <= context_len {
        Mode::Classical
    } else {
        Mode::Context
    };
    assert_eq!(auto.header.mode, expected);
    // Version 5 has no context coding: the classical one is finished, and kept.
    let v5 = in_version(&flat, 5);
    assert_eq!(v5.candidates.1, Some(full_classical));
    assert_eq!(v5.header.mode, Mode::Classical);
    let other = Mock { id: [9; 32], ..mock(3) };
    assert_eq!(decode(&auto.bytes, &other, &DecodeOptions::default()).unwrap(), flat);
    let noisy = smooth(40, 30, 3, 8);
    let auto = encode(&noisy, &m, &EncodeOptions::default()).unwrap();
    let (a, b, c) = auto.candidates;
    let adaptive = auto.adapt.unwrap().1;
    assert_eq!(
        auto.header.payload_len,
        a.unwrap().min(b.unwrap_or(u64::MAX)).min(c.unwrap()).min(adaptive),
        "the smallest is kept"
    );
    assert_eq!(auto.header.version, crate::VERSION);
    assert_eq!(decode(&auto.bytes, &m, &DecodeOptions::default()).unwrap(), noisy);
    // Version 2 is still written on request, with its own header byte.
    let v2 = in_version(&noisy, 2);
    assert_eq!((v2.header.version, v2.bytes[5]), (2, 2));
    assert_eq!(decode(&v2.bytes, &m, &DecodeOptions::default()).unwrap(), noisy);
    assert_eq!(auto.bytes[5], crate::VERSION);
    for img in [&flat, &noisy] {
        let v1 = in_version(img, 1);
        assert_eq!((v1.header.version, v1.header.mode), (1, Mode::Model));
        assert_eq!(decode(&v1.bytes, &m, &DecodeOptions::default()).unwrap(), *img);
        let c = encode(
            img,
            &m,
            &EncodeOptions {
                mode: ModeChoice::Classical,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.header.mode, Mode::Classical);
        assert_eq!(decode(&c.bytes, &m, &DecodeOptions::default()).unwrap(), *img);
        // A damaged classical payload is reported, never decoded silently.
        for byte in c.header.header_len()..c.bytes.len() {
            let mut f = c.bytes.clone();
            f[byte] ^= 0x10;
            match decode(&f, &m, &DecodeOptions::default()) {
                Err(CodecError::Corrupt { .. }) => {}
                Ok(dec) if dec == *img => {}
                other => panic!("byte {byte}: {other:?}"),
            }
        }
    }
    assert!(encode(
        &flat,
        &m,
        &EncodeOptions {
            version: crate::VERSION + 1,
            ..Default::default()
        }
    )
    .is_err());
}

/// The adaptive coding: a gradient the mock model predicts badly codes much smaller with it, the
/// header says so, and it decodes; damage is still caught; with adaptation off the flag is clear.
#[test]
fn adaptive_coding_round_trips_and_is_kept_when_smaller() {
    let (w, h) = (48, 32);
    let px: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i % (w * 3)) / 3 * 5 + (i / (w * 3)) * 3 + (i % 3) * 20) as u8)
        .collect();
    let img = Image::new(w as u32, h as u32, 3, px).unwrap();
    let m = mock(3);
    let opts = EncodeOptions {
        mode: ModeChoice::Model,
        ..Default::default()
    };
    let enc = encode(&img, &m, &opts).unwrap();
    let (stats, adaptive_len) = enc.adapt.unwrap();
    assert!(enc.header.adaptive(), "{stats:?}");
    assert_eq!(enc.header.payload_len, adaptive_len);
    assert!(stats.mixed_bits < 0.5 * stats.model_bits, "{stats:?}");
    assert_eq!(decode(&enc.bytes, &m, &DecodeOptions::default()).unwrap(), img);
    for byte in (enc.header.header_len()..enc.bytes.len()).step_by(3) {
        let mut f = enc.bytes.clone();
        f[byte] ^= 0x21;
        match decode(&f, &m, &DecodeOptions::default()) {
            Err(CodecError::Corrupt { .. }) => {}
            Ok(dec) if dec == img => {}
            other => panic!("byte {byte}: {other:?}"),
        }
    }
    let plain = encode(&img, &m, &model_only()).unwrap();
    assert!(!plain.header.adaptive() && plain.adapt.is_none());
    assert!(plain.bytes.len() > enc.bytes.len());
}

/// Format version 3 spreads a tall image's rows over substreams: it round-trips plain and
/// adaptive, the table says how many, and a damaged table is caught.
#[test]
fn substreams_round_trip_and_damage_is_caught() {
    let img = smooth(20, 770, 3, 4);
    let m = mock(3);
    for adapt in [false, true] {
        let enc = encode(
            &img,
            &m,
            &EncodeOptions {
                adapt,
                mode: ModeChoice::Model,
                // Three substreams, an odd count (the default gives 4 from 768 rows, and may keep
                // one for this cheap image).
                substreams: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        let payload = &enc.bytes[enc.header.header_len()..];
        assert_eq!(payload[0], 3, "three substreams");
        assert_eq!(decode(&enc.bytes, &m, &DecodeOptions::default()).unwrap(), img);
        let mut f = enc.bytes.clone();
        f[enc.header.header_len()] = 0;
        assert!(matches!(
            decode(&f, &m, &DecodeOptions::default()),
            Err(CodecError::Corrupt { .. })
        ));
        f[enc.header.header_len()] = 65;
        assert!(matches!(
            decode(&f, &m, &DecodeOptions::default()),
            Err(CodecError::Corrupt { .. })
        ));
    }
}

/// Adaptive coding at fewer levels than 256 (binarised and 4-level images): every version with
/// adaptive experts round-trips, and version 7's context stage learns a repeating pattern the
/// mock predicts badly (smaller than version 6).
#[test]
fn adaptive_coding_at_few_levels_round_trips() {
    for levels in [2usize, 4] {
        let (w, h) = (37u32, 29u32);
        let px: Vec<u8> = (0..w * h * 3)
            .map(|i| (((i / 3) % w / 3 + (i / 3) / w * 2 + i % 3) % levels as u32) as u8)
            .collect();
        let img = Image::new(w, h, 3, px).unwrap();
        let m = Mock { levels, ..mock(3) };
        let mut sizes = Vec::new();
        for version in [2, 4, 5, 6, 7] {
            let opts = EncodeOptions {
                version,
                mode: ModeChoice::Model,
                ..Default::default()
            };
            let enc = encode(&img, &m, &opts).unwrap();
            assert!(enc.header.adaptive(), "levels {levels}, version {version}");
            assert_eq!(decode(&enc.bytes, &m, &DecodeOptions::default()).unwrap(), img);
            sizes.push(enc.header.payload_len);
        }
        assert!(sizes[4] < sizes[3], "levels {levels}: {sizes:?}");
    }
}

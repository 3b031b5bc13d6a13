//! Damaged and mismatched files give typed errors, never a panic and never wrong pixels.

use pixelrnn_codec::{decode, encode, CodecError, DecodeOptions, EncodeOptions, Header, Limits, ModeChoice};
use pixelrnn_tests::{smooth_image, tiny_engine};

/// A model-coded file of format `version` (adaptive from version 2 on), and its model.
fn sample_v(version: u8) -> (Vec<u8>, pixelrnn_model::Engine) {
    let e = tiny_engine(3, 1);
    let img = smooth_image(9, 7, 3, 1);
    let opts = EncodeOptions {
        version,
        mode: ModeChoice::Model,
        ..Default::default()
    };
    (encode(&img, &e, &opts).unwrap().bytes, e)
}

fn sample() -> (Vec<u8>, pixelrnn_model::Engine) {
    sample_v(1)
}

fn dec(f: &[u8], e: &pixelrnn_model::Engine) -> Result<pixelrnn_codec::Image, CodecError> {
    decode(f, e, &DecodeOptions::default())
}

#[test]
fn truncated_files_are_corrupt() {
    for v in [1, 2, 7] {
        let (f, e) = sample_v(v);
        let hl = Header::parse(&f, &Limits::default()).unwrap().header_len();
        for n in [0, 1, 5, 7, 8, 9, 12, hl - 1, hl, f.len() - 4, f.len() - 1] {
            let err = dec(&f[..n], &e).unwrap_err();
            assert!(matches!(err, CodecError::Corrupt { .. }), "v{v} {n} bytes: {err}");
            // The message says what may have happened, even where only the checksum notices.
            assert!(err.to_string().contains("truncated"), "v{v} {n} bytes: {err}");
        }
    }
}

#[test]
fn flipped_bits_are_caught() {
    for v in [1, 2, 7] {
        flipped_bits_are_caught_in(v);
    }
}

fn flipped_bits_are_caught_in(v: u8) {
    let (f, e) = sample_v(v);
    let good = dec(&f, &e).unwrap();
    for i in 0..f.len() {
        let mut g = f.clone();
        g[i] ^= 0x10;
        match dec(&g, &e) {
            Ok(img) => assert_eq!(img, good, "byte {i}: wrong pixels decoded silently"),
            Err(CodecError::Corrupt { .. } | CodecError::Unsupported(_)) => {}
            Err(other) => panic!("byte {i}: unexpected error {other}"),
        }
    }
}

#[test]
fn wrong_magic_and_version() {
    for (v, at) in [(1, 8), (2, 5)] {
        let (f, e) = sample_v(v);
        let mut g = f.clone();
        g[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
        assert!(dec(&g, &e).unwrap_err().to_string().contains("magic"));
        let mut g = f.clone();
        // 13 is never a version: byte 5 = 0D is version 1's magic.
        g[at] = 14;
        let err = dec(&g, &e).unwrap_err();
        assert!(
            matches!(err, CodecError::Unsupported(_)) && err.to_string().contains("version 14"),
            "v{v}: {err}"
        );
    }
}

#[test]
fn model_mismatch_is_reported() {
    for v in [1, 2] {
        let (f, _) = sample_v(v);
        let err = dec(&f, &tiny_engine(3, 2)).unwrap_err();
        assert!(matches!(err, CodecError::ModelMismatch(_)), "{err}");
        let err = dec(&f, &tiny_engine(1, 1)).unwrap_err();
        assert!(matches!(err, CodecError::ModelMismatch(_)), "{err}");
    }
}

#[test]
fn huge_dimensions_hit_the_limit_before_allocating() {
    let (f, e) = sample();
    let opts = DecodeOptions {
        limits: Limits {
            max_pixels: 62,
            max_payload: 1 << 20,
        },
        ..Default::default()
    };
    assert!(matches!(decode(&f, &e, &opts), Err(CodecError::Limit { .. })));
}

/// A context-coded file (format version 6, mode 2) of a synthetic screenshot.
fn context_sample() -> (Vec<u8>, pixelrnn_model::Engine) {
    let e = tiny_engine(3, 1);
    let img = pixelrnn_tests::ui_image(21, 13, 3, 5);
    let opts = EncodeOptions {
        mode: ModeChoice::Context,
        ..Default::default()
    };
    (encode(&img, &e, &opts).unwrap().bytes, e)
}

#[test]
fn damaged_context_coded_files_are_caught() {
    let (f, e) = context_sample();
    let good = dec(&f, &e).unwrap();
    let hl = Header::parse(&f, &Limits::default()).unwrap().header_len();
    for n in [hl - 1, hl, hl + 1, f.len() - 4, f.len() - 1] {
        let err = dec(&f[..n], &e).unwrap_err();
        assert!(matches!(err, CodecError::Corrupt { .. }), "{n} bytes: {err}");
    }
    for i in 0..f.len() {
        for bit in [0x01, 0x10, 0x80] {
            let mut g = f.clone();
            g[i] ^= bit;
            match dec(&g, &e) {
                Ok(img) => assert_eq!(img, good, "byte {i}: wrong pixels decoded silently"),
                Err(CodecError::Corrupt { .. } | CodecError::Unsupported(_)) => {}
                Err(other) => panic!("byte {i}: unexpected error {other}"),
            }
        }
    }
}

#[test]
fn context_coding_needs_version_6() {
    let e = tiny_engine(3, 1);
    let img = smooth_image(9, 7, 3, 1);
    for version in 2..=5 {
        let opts = EncodeOptions {
            version,
            mode: ModeChoice::Context,
            ..Default::default()
        };
        let err = encode(&img, &e, &opts).unwrap_err();
        assert!(matches!(err, CodecError::BadParameter(_)), "v{version}: {err}");
    }
    // Mode 2 in a version 5 header (its check recomputed) is not something version 5 has.
    let (mut f, _) = context_sample();
    let h = Header::parse(&f, &Limits::default()).unwrap();
    f[5] = 5;
    let hl = h.header_len();
    let check = crc32fast::hash(&f[..hl - 2]) as u16;
    f[hl - 2..hl].copy_from_slice(&check.to_le_bytes());
    let err = Header::parse(&f, &Limits::default()).unwrap_err();
    assert!(matches!(err, CodecError::Unsupported(_)), "{err}");
}

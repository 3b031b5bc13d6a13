//! Tests of the `.prnn` header: every version's fields, checks and limits ([`super`]).

use super::*;
use crate::metadata::Metadata;

fn sample() -> Header {
    Header {
        version: 1,
        mode: Mode::Model,
        builtin: None,
        flags: FLAG_OPAQUE_ALPHA,
        channels: 4,
        coded_channels: 3,
        levels: 256,
        width: 17,
        height: 3,
        model_id: [7; 32],
        pixel_crc: 0xDEAD_BEEF,
        payload_len: 8,
        metadata: Vec::new(),
    }
}

fn file(h: &Header) -> Vec<u8> {
    let mut f = h.to_bytes();
    f.extend(std::iter::repeat_n(0u8, h.payload_len as usize));
    f
}

#[test]
fn parse_after_write_is_identity() {
    let h = sample();
    assert_eq!(Header::parse(&file(&h), &Limits::default()).unwrap(), h);
}

#[test]
fn every_flipped_header_bit_is_caught() {
    let f = file(&sample());
    for bit in 0..HEADER_LEN * 8 {
        let mut g = f.clone();
        g[bit / 8] ^= 1 << (bit % 8);
        assert!(Header::parse(&g, &Limits::default()).is_err(), "bit {bit} not caught");
    }
}

#[test]
fn truncation_and_trailing_bytes_are_caught() {
    let f = file(&sample());
    for n in 0..f.len() {
        let e = Header::parse(&f[..n], &Limits::default()).unwrap_err();
        assert!(matches!(e, CodecError::Corrupt { .. }), "{n}: {e}");
    }
    let mut g = f.clone();
    g.push(0);
    assert!(Header::parse(&g, &Limits::default())
        .unwrap_err()
        .to_string()
        .contains("trailing"));
}

#[test]
fn limits_checked_before_anything_else_is_read() {
    let h = Header {
        width: 1 << 20,
        height: 1 << 20,
        ..sample()
    };
    let e = Header::parse(&h.to_bytes(), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            e,
            CodecError::Limit {
                what: "pixel count",
                ..
            }
        ),
        "{e}"
    );
    let h = Header {
        payload_len: 1 << 40,
        ..sample()
    };
    let e = Header::parse(&h.to_bytes(), &Limits::default()).unwrap_err();
    assert!(
        matches!(
            e,
            CodecError::Limit {
                what: "payload size",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn wrong_magic_and_version() {
    let mut f = file(&sample());
    f[1] = b'Q';
    assert!(Header::parse(&f, &Limits::default())
        .unwrap_err()
        .to_string()
        .contains("magic"));
    let mut f = file(&sample());
    f[8] = 2;
    assert!(matches!(
        Header::parse(&f, &Limits::default()),
        Err(CodecError::Unsupported(_))
    ));
    assert!(Header::parse(b"\x89PNG\r\n\x1a\n", &Limits::default()).is_err());
}

/// A version 12 header with an ICC profile and EXIF data.
fn with_metadata() -> Header {
    Header {
        version: 12,
        mode: Mode::Classical,
        model_id: [0; 32],
        metadata: vec![
            Metadata {
                kind: crate::MetaKind::Icc,
                data: (0..600u32).map(|i| (i * 7 % 13) as u8).collect(),
            },
            Metadata {
                kind: crate::MetaKind::Exif,
                data: b"II*\0\x08\0\0\0\0\0\0\0\0\0".to_vec(),
            },
        ],
        ..sample()
    }
}

#[test]
fn version_12_keeps_metadata_in_the_header() {
    let h = with_metadata();
    let f = file(&h);
    assert_eq!(f[6] & FLAG_METADATA, FLAG_METADATA);
    let back = Header::parse(&f, &Limits::default()).unwrap();
    assert_eq!(back, h);
    assert_eq!(back.header_len(), f.len() - 8, "the payload follows the metadata");
    // Without metadata the flag is clear and the header is version 11's but for its version.
    let plain = Header {
        metadata: Vec::new(),
        ..with_metadata()
    };
    let (a, b) = (
        plain.to_bytes(),
        Header {
            version: 11,
            ..plain.clone()
        }
        .to_bytes(),
    );
    assert_eq!(
        (a[6] & FLAG_METADATA, a.len(), &a[6..a.len() - 2]),
        (0, b.len(), &b[6..b.len() - 2])
    );
    // Any damaged byte of the metadata is caught (by its Brotli stream or the header check).
    for i in 9..f.len() - 8 {
        let mut g = f.clone();
        g[i] ^= 0x10;
        assert!(Header::parse(&g, &Limits::default()).is_err(), "byte {i}");
    }
}

#[test]
fn the_metadata_flag_before_version_12_is_a_newer_feature() {
    // A version 11 header with the flag set (and no metadata, which version 11 does not
    // have): the header check passes, the flag is a newer version's.
    let h = Header {
        version: 11,
        metadata: Vec::new(),
        ..with_metadata()
    };
    let mut f = h.to_bytes();
    f[6] |= FLAG_METADATA;
    let n = f.len();
    let check = crc32fast::hash(&f[..n - 2]) as u16;
    f[n - 2..].copy_from_slice(&check.to_le_bytes());
    f.extend([0u8; 8]);
    let e = Header::parse(&f, &Limits::default()).unwrap_err();
    assert!(matches!(e, CodecError::Unsupported(_)), "{e}");
}

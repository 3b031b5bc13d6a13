//! Tests of the `.prnn` header: every version's fields, checks and limits ([`super`]).

use super::*;

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

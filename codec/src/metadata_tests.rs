//! Tests of version 12's metadata field ([`super`]): round trips, the exact bytes, and damage,
//! truncation and oversized entries refused before anything is copied.

use super::*;

fn cut() -> CodecError {
    CodecError::corrupt("header", "more", "none")
}

fn entries() -> Vec<Metadata> {
    vec![
        Metadata {
            kind: MetaKind::Icc,
            data: (0..3000u32).map(|i| (i % 7 + i / 300) as u8).collect(),
        },
        Metadata {
            kind: MetaKind::Exif,
            data: b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec(),
        },
    ]
}

#[test]
fn entries_round_trip_in_either_order() {
    for e in [
        entries(),
        entries().into_iter().rev().collect(),
        entries()[..1].to_vec(),
    ] {
        check(&e).unwrap();
        let mut b = vec![9];
        put(&mut b, &e);
        b.push(7);
        let mut pos = 1;
        assert_eq!(get(&b, &mut pos, cut).unwrap(), e);
        assert_eq!(b[pos], 7, "the field ends where it says");
    }
}

#[test]
fn the_field_is_count_kind_length_and_bytes() {
    let e = vec![Metadata {
        kind: MetaKind::Exif,
        data: vec![0xab; 200],
    }];
    let mut b = Vec::new();
    put(&mut b, &e);
    // One entry, EXIF, 200 bytes (varint 0xc8 0x01), then the bytes as they are.
    assert_eq!(b, [&[1u8, 2, 200, 1][..], &e[0].data].concat());
}

#[test]
fn damage_and_truncation_are_errors() {
    let mut b = Vec::new();
    put(&mut b, &entries());
    for n in 0..b.len() {
        assert!(get(&b[..n], &mut 0, cut).is_err(), "cut at {n}");
    }
    // No entries, too many, an unknown kind, a repeated kind.
    for (at, v) in [(0, 0u8), (0, 3), (1, 9)] {
        let mut d = b.clone();
        d[at] = v;
        assert!(get(&d, &mut 0, cut).is_err(), "byte {at} = {v}");
    }
    let mut twice = Vec::new();
    put(&mut twice, &entries()[..1]);
    let mut d = vec![2];
    d.extend_from_slice(&twice[1..]);
    d.extend_from_slice(&twice[1..]);
    assert!(get(&d, &mut 0, cut)
        .unwrap_err()
        .to_string()
        .contains("one entry of each kind"));
    // A stated length past the end of the header is a truncation.
    let mut d = Vec::new();
    put(&mut d, &entries()[1..]);
    d[2] += 1;
    assert!(get(&d, &mut 0, cut).is_err());
}

#[test]
fn oversized_entries_are_refused() {
    // A stated length beyond the limit: refused from the varint alone, before anything is read.
    let mut d = vec![1, 1];
    varint::put(&mut d, MAX_METADATA + 1);
    d.extend_from_slice(&[1, 0]);
    let e = get(&d, &mut 0, cut).unwrap_err().to_string();
    assert!(e.contains("metadata length"), "{e}");
    // What an encoder is asked to keep is checked the same way.
    assert!(check(&[Metadata {
        kind: MetaKind::Icc,
        data: vec![]
    }])
    .is_err());
    let two = [entries()[0].clone(), entries()[0].clone()];
    assert!(check(&two).is_err());
}

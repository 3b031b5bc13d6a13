//! Tests of the classical path ([`super`]): round trips of every transform, damage refused,
//! hand-built streams, the ranking's estimate and the sizes of flat images.

use super::*;

#[test]
fn round_trips_and_rejects_damage() {
    for (w, h, c) in [(1, 1, 1), (5, 3, 3), (17, 9, 4), (2, 30, 2)] {
        let px: Vec<u8> = (0..w * h * c).map(|i| ((i * 37) % 251 + (i / 7) % 3) as u8).collect();
        let enc = encode(&px, w, h, c);
        assert_eq!(decode(&enc, w, h, c).unwrap(), px, "{w}×{h}×{c}");
        assert!(decode(&enc, w + 1, h, c).is_err(), "a size mismatch is caught");
        assert!(decode(&enc[..enc.len() / 2], w, h, c).is_err(), "truncation is caught");
    }
    assert!(decode(b"not brotli at all", 3, 3, 3).is_err());
}

#[test]
fn every_transform_round_trips() {
    // Few colours (palette), smooth colour (subtract-green), noise (direct).
    let (w, h) = (23, 11);
    let few: Vec<u8> = (0..w * h)
        .flat_map(|i| [[10u8, 20, 30, 255], [200, 5, 5, 0]][i % 7 / 4])
        .collect();
    let smooth: Vec<u8> = (0..w * h)
        .flat_map(|i| [(i % w * 9) as u8, (i / w * 20) as u8, (i % w * 9 + 3) as u8])
        .collect();
    let noise: Vec<u8> = (0..w * h * 2)
        .map(|i| ((i as u64 * 2_654_435_761) >> 13) as u8)
        .collect();
    for (px, c) in [(few, 4), (smooth, 3), (noise, 2)] {
        let enc = encode(&px, w, h, c);
        assert_eq!(decode(&enc, w, h, c).unwrap(), px, "{c} channels");
    }
    let many: Vec<u8> = (0..300usize)
        .flat_map(|j| [(j % 256) as u8, (j / 256) as u8, 7])
        .collect();
    assert!(palette(&many, 3).is_none(), "over 256 colours");
    assert_eq!(decode(&encode(&many, 30, 10, 3), 30, 10, 3).unwrap(), many);
}

/// The ranking's estimate bounds the finished payload: never below its lower bound, and
/// finishing gives `encode`'s bytes.
#[test]
fn the_estimate_bounds_the_finished_payload() {
    let (w, h) = (64, 48);
    let text: Vec<u8> = (0..w * h)
        .map(|i| if (i % w / 3 + i / w) % 5 == 0 { 0 } else { 255 })
        .collect();
    let smooth: Vec<u8> = (0..w * h * 3).map(|i| (i % (w * 3) / 3 + i / (w * 3)) as u8).collect();
    let noise: Vec<u8> = (0..w * h).map(|i| ((i as u64 * 2_654_435_761) >> 13) as u8).collect();
    for (px, c) in [(text, 1), (smooth, 3), (noise, 1)] {
        let r = rank(&px, w, h, c);
        let done = r.finish();
        assert!(done.len() as u64 >= r.lower_bound(), "{c} channels");
        assert!(done.len() as u64 <= r.estimate + 16, "{c} channels");
        assert_eq!(done, encode(&px, w, h, c));
    }
}

/// Every transform's stream decodes, built by hand (the encoder picks only the smallest).
#[test]
fn hand_built_streams_of_every_transform_decode() {
    let (w, h, c) = (7usize, 3usize, 3usize);
    let colours = [[9u8, 8, 7], [1, 2, 3], [200, 100, 50]];
    let idx: Vec<u8> = (0..w * h).map(|i| (i * 5 % 3) as u8).collect();
    let px: Vec<u8> = idx.iter().flat_map(|&i| colours[i as usize]).collect();
    let mut streams = Vec::new();
    for (t, bits) in [(PALETTE, 8), (PACKED_PALETTE, 2)] {
        let mut s = vec![t, 2];
        s.extend(colours.concat());
        let (rows, rb) = if bits == 8 {
            (idx.clone(), w)
        } else {
            pack(&idx, w, bits)
        };
        s.extend(filter(&rows, rb, h, 1, true));
        streams.push(s);
    }
    for (t, data) in [(DIRECT, px.clone()), (SUBTRACT_GREEN, subtract_green(&px, c, -1))] {
        let mut s = vec![t];
        s.extend(filter(&data, w, h, c, true));
        streams.push(s);
    }
    for s in streams {
        assert_eq!(decode(&brotli(&s, 5), w, h, c).unwrap(), px, "transform {}", s[0]);
    }
    let mut bad = vec![9u8];
    bad.extend(filter(&px, w, h, c, false));
    assert!(decode(&brotli(&bad, 5), w, h, c).is_err(), "unknown transform");
}

#[test]
fn flat_and_repetitive_images_shrink_a_lot() {
    let (w, h) = (64, 64);
    let px: Vec<u8> = (0..w * h * 3).map(|i| if (i / 3) % 8 < 4 { 200 } else { 30 }).collect();
    assert!(encode(&px, w, h, 3).len() < 200);
}

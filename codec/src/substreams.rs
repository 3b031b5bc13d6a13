//! Format version 3's model-coded payload: the rows spread over S range-coder substreams (row y
//! in substream y mod S), so that a decoder can decode several rows side by side, each a few
//! pixels behind the row above. Layout: varint S (1 ≤ S ≤ min(height, 64)), the byte lengths
//! of substreams 0 … S−2 as varints (each a non-zero multiple of 4), then the substreams, the
//! last one taking the rest (also a non-zero multiple of 4). Words are little-endian u32.

use crate::error::{CodecError, Result};

/// Most substreams a file may have.
pub const MAX_SUBSTREAMS: usize = 64;

/// Rows per substream the encoder aims for.
const ROWS_PER_SUBSTREAM: usize = 256;

/// The encoder's choice: one substream per 256 rows, at most 4 (each costs a few bytes and
/// splits what the adaptive coding learns: 8 substreams cost 0.9 % on a 512×512 photo); one
/// for a model that does not code in raster order.
pub fn choose(height: usize, raster_order: bool) -> usize {
    if !raster_order {
        return 1;
    }
    (height / ROWS_PER_SUBSTREAM).clamp(1, 4)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bad(expected: impl std::fmt::Display, found: impl std::fmt::Display) -> CodecError {
    CodecError::corrupt("substreams", expected, found)
}

/// Reads a minimal LEB128 varint of at most 63 bits.
fn get_varint(b: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for i in 0..9 {
        let byte = *b
            .get(*pos)
            .ok_or_else(|| bad("a complete substream table", "the payload ends"))?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            if i > 0 && byte == 0 {
                return Err(bad("minimal varints", "a padded one"));
            }
            return Ok(v);
        }
    }
    Err(bad("varints of at most 9 bytes", "a longer one"))
}

/// The payload of the substreams' words.
pub fn join(streams: &[Vec<u32>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, streams.len() as u64);
    for s in &streams[..streams.len() - 1] {
        put_varint(&mut out, s.len() as u64 * 4);
    }
    for s in streams {
        for w in s {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    out
}

/// Splits a payload into its substreams' words, checking the table against the image height
/// and the bytes present.
pub fn split(payload: &[u8], height: usize) -> Result<Vec<Vec<u32>>> {
    let mut pos = 0;
    let s = get_varint(payload, &mut pos)?;
    if s == 0 || s as usize > MAX_SUBSTREAMS.min(height) {
        return Err(bad(format!("1 to {} substreams", MAX_SUBSTREAMS.min(height)), s));
    }
    let mut lens = Vec::with_capacity(s as usize);
    for _ in 1..s {
        lens.push(get_varint(payload, &mut pos)?);
    }
    let declared: u64 = lens.iter().try_fold(0u64, |a, &l| a.checked_add(l)).unwrap_or(u64::MAX);
    let rest = (payload.len() - pos) as u64;
    if declared >= rest {
        return Err(bad(
            format!("substreams within the {rest} bytes left"),
            format!("{declared} bytes declared"),
        ));
    }
    lens.push(rest - declared);
    let mut out = Vec::with_capacity(lens.len());
    for (i, &l) in lens.iter().enumerate() {
        if l == 0 || !l.is_multiple_of(4) {
            return Err(bad(
                "lengths that are non-zero multiples of 4",
                format!("{l} bytes for substream {i}"),
            ));
        }
        let bytes = &payload[pos..pos + l as usize];
        out.push(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        );
        pos += l as usize;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let streams = vec![vec![1u32, 2], vec![3], vec![4, 5, 6]];
        let p = join(&streams);
        assert_eq!(p[..3], [3, 8, 4]);
        assert_eq!(split(&p, 3).unwrap(), streams);
        assert!(split(&p, 2).is_err(), "more substreams than rows");
        assert!(split(&p[..p.len() - 12], 3).is_err(), "last substream missing");
        assert!(split(&p[..p.len() - 1], 3).is_err(), "not whole words");
        let mut q = p.clone();
        q[1] = 7;
        assert!(split(&q, 3).is_err(), "a length that is not whole words");
        assert!(split(&[0], 3).is_err() && split(&[], 3).is_err() && split(&[0x80], 3).is_err());
        assert_eq!(split(&join(&[vec![9]]), 1).unwrap(), vec![vec![9]]);
    }

    #[test]
    fn the_encoder_spreads_tall_images() {
        assert_eq!(choose(10, true), 1);
        assert_eq!(choose(511, true), 1);
        assert_eq!(choose(512, true), 2);
        assert_eq!(choose(4096, true), 4);
        assert_eq!(choose(4096, false), 1);
    }
}

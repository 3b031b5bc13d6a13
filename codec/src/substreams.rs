//! Format version 3's model-coded payload: the rows spread over S range-coder substreams (row y
//! in substream y mod S), so that a decoder can decode several rows side by side, each a few
//! pixels behind the row above. Layout: varint S (1 ≤ S ≤ min(height, 64)), the byte lengths
//! of substreams 0 … S−2 as varints (each a non-zero multiple of 4), then the substreams, the
//! last one taking the rest (also a non-zero multiple of 4). Words are little-endian u32.
//! Version 8 writes the lanes L and their delay D ([`crate::lanes`]) as varints after S.

use crate::error::{CodecError, Result};
use crate::lanes::Spread;
use crate::varint;

/// Most substreams a file may have.
pub const MAX_SUBSTREAMS: usize = 64;

/// Rows per substream the encoder aims for.
const ROWS_PER_SUBSTREAM: usize = 512;

/// The encoder's spread: one substream per 512 rows, rounded up to a power of two (3 would
/// leave one of two threads with two rows in step and the other with one: a 1507×847 photo
/// decoded on two threads 1.3× faster with 4 than with 3, the same bytes), at most 4 (each
/// splits what the adaptive coding learns: 8 substreams cost 0.3–0.9 % on photos); one for a
/// model that does not code in raster order. A substream decodes on two threads (one decoding,
/// one computing the model, [`crate::pipeline`]), so photos under 512 rows decode on two
/// threads with one substream, those under 1024 on four with two: the threads of the spread
/// before 2026-12-02 (one per 256 rows, at least 2 from 128 rows: 0.5 % larger on the
/// validation photos, grey and RGB). Its default also tries one substream where the spread
/// rows are cheap (icons, clip art, screenshots: two substreams cost them up to 8 %), and keeps
/// it when it is at least 1 % smaller (`trial.rs`).
pub fn choose(height: usize, raster_order: bool) -> usize {
    if !raster_order {
        return 1;
    }
    height.div_ceil(ROWS_PER_SUBSTREAM).clamp(1, 4).next_power_of_two()
}

/// `asked` substreams (at most one per row), or the encoder's choice ([`choose`]); an error if
/// `asked` is 0 or above [`MAX_SUBSTREAMS`], or the model does not code in raster order.
pub fn choose_or(asked: Option<usize>, height: usize, raster_order: bool) -> Result<usize> {
    let Some(n) = asked else {
        return Ok(choose(height, raster_order));
    };
    if !(1..=MAX_SUBSTREAMS).contains(&n) {
        return Err(CodecError::BadParameter(format!(
            "{n} substreams (1 to {MAX_SUBSTREAMS})"
        )));
    }
    if n > 1 && !raster_order {
        return Err(CodecError::BadParameter(
            "substreams with a multi-scale model (it codes in one stream)".into(),
        ));
    }
    Ok(n.min(height.max(1)))
}

/// Rows y < `height` with y ≡ `index` (mod `substreams`): the rows substream `index` codes.
pub(crate) fn rows(height: usize, substreams: usize, index: usize) -> usize {
    height.saturating_sub(index).div_ceil(substreams.max(1))
}

fn bad(expected: impl std::fmt::Display, found: impl std::fmt::Display) -> CodecError {
    CodecError::corrupt("substreams", expected, found)
}

fn get_varint(b: &[u8], pos: &mut usize) -> Result<u32> {
    varint::get(b, pos, "substreams", || {
        bad("a complete substream table", "the payload ends")
    })
}

/// The payload of the substreams' words, with the lanes of `spread` for version 8 (Some); an
/// error if a substream is 4 GiB or longer.
pub fn join(streams: &[Vec<u32>], lanes: Option<Spread>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    varint::put(&mut out, streams.len() as u32);
    if let Some(sp) = lanes {
        varint::put(&mut out, sp.lanes as u32);
        varint::put(&mut out, sp.delay as u32);
    }
    for s in &streams[..streams.len() - 1] {
        let len = u32::try_from(s.len() * 4).map_err(|_| {
            CodecError::BadParameter(format!("a substream of {} bytes (at most 4 GiB each)", s.len() * 4))
        })?;
        varint::put(&mut out, len);
    }
    for s in streams {
        for w in s {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    Ok(out)
}

/// The substream table of a payload of format `version`, checked against the image height and
/// the bytes present: where the first substream starts, the spread, and every substream's
/// length in bytes.
fn table(payload: &[u8], height: usize, version: u8) -> Result<(usize, Spread, Vec<u64>)> {
    let mut pos = 0;
    let s = get_varint(payload, &mut pos)?;
    if s == 0 || s as usize > MAX_SUBSTREAMS.min(height) {
        return Err(bad(format!("1 to {} substreams", MAX_SUBSTREAMS.min(height)), s));
    }
    let mut spread = Spread::raster(s as usize);
    if version >= 8 {
        spread.lanes = get_varint(payload, &mut pos)? as usize;
        spread.delay = get_varint(payload, &mut pos)? as usize;
        spread.check()?;
    }
    let mut lens = Vec::with_capacity(s as usize);
    for _ in 1..s {
        lens.push(u64::from(get_varint(payload, &mut pos)?));
    }
    let declared: u64 = lens.iter().sum();
    let rest = (payload.len() - pos) as u64;
    if declared >= rest {
        return Err(bad(
            format!("substreams within the {rest} bytes left"),
            format!("{declared} bytes declared"),
        ));
    }
    lens.push(rest - declared);
    for (i, &l) in lens.iter().enumerate() {
        if l == 0 || !l.is_multiple_of(4) {
            return Err(bad(
                "lengths that are non-zero multiples of 4",
                format!("{l} bytes for substream {i} (the file is truncated or damaged)"),
            ));
        }
    }
    Ok((pos, spread, lens))
}

/// The spread of a payload of format `version`, its table checked as [`split`] does (without
/// copying the substreams).
pub fn spread(payload: &[u8], height: usize, version: u8) -> Result<Spread> {
    table(payload, height, version).map(|(_, spread, _)| spread)
}

/// Splits a payload of format `version` into its spread and its substreams' words, checking
/// the table against the image height and the bytes present.
pub fn split(payload: &[u8], height: usize, version: u8) -> Result<(Spread, Vec<Vec<u32>>)> {
    let (mut pos, spread, lens) = table(payload, height, version)?;
    let mut out = Vec::with_capacity(lens.len());
    for l in lens {
        let bytes = &payload[pos..pos + l as usize];
        out.push(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        );
        pos += l as usize;
    }
    Ok((spread, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substreams_share_the_rows() {
        for h in [1, 2, 3, 7, 512, 513] {
            for s in 1..=4 {
                let total: usize = (0..s).map(|i| rows(h, s, i)).sum();
                assert_eq!(total, h, "height {h}, {s} substreams");
                let direct = (0..s).map(|i| (0..h).filter(|y| y % s == i).count());
                assert!(direct.enumerate().all(|(i, n)| n == rows(h, s, i)));
            }
        }
    }

    #[test]
    fn round_trip_and_damage() {
        let streams = vec![vec![1u32, 2], vec![3], vec![4, 5, 6]];
        let p = join(&streams, None).unwrap();
        assert_eq!(p[..3], [3, 8, 4]);
        let split = |p: &[u8], h| split(p, h, 7).map(|(sp, s)| (assert_eq!(sp, Spread::raster(3)), s).1);
        assert_eq!(split(&p, 3).unwrap(), streams);
        assert!(split(&p, 2).is_err(), "more substreams than rows");
        assert!(split(&p[..p.len() - 12], 3).is_err(), "last substream missing");
        assert!(split(&p[..p.len() - 1], 3).is_err(), "not whole words");
        let mut q = p.clone();
        q[1] = 7;
        assert!(split(&q, 3).is_err(), "a length that is not whole words");
        assert!(split(&[0], 3).is_err() && split(&[], 3).is_err() && split(&[0x80], 3).is_err());
        // `spread` checks the same table.
        assert_eq!(spread(&p, 3, 7).unwrap().substreams, 3);
        for (bad, h) in [
            (&p[..], 2),
            (&p[..p.len() - 12], 3),
            (&p[..p.len() - 1], 3),
            (&q[..], 3),
        ] {
            assert!(spread(bad, h, 7).is_err());
        }
    }

    /// Version 8's table carries the lanes and their delay after the count, checked.
    #[test]
    fn version_8_carries_the_lanes() {
        let sp = Spread {
            substreams: 2,
            lanes: 4,
            delay: 5,
        };
        let streams = vec![vec![1u32], vec![2, 3]];
        let p = join(&streams, Some(sp)).unwrap();
        assert_eq!(p[..4], [2, 4, 5, 4]);
        assert_eq!(split(&p, 9, 8).unwrap(), (sp, streams.clone()));
        assert!(split(&p, 9, 7).is_err(), "read as version 7, the lanes are lengths");
        let mut q = p.clone();
        q[1] = 5;
        assert!(split(&q, 9, 8).is_err(), "ten rows in step");
        q[1] = 0;
        assert!(split(&q, 9, 8).is_err(), "no lane");
        let one = join(&[vec![7]], Some(Spread::choose(1, Some(3)))).unwrap();
        assert_eq!(
            split(&one, 1, 8).unwrap().0.lanes,
            8,
            "lanes beyond the height are allowed"
        );
        assert!(split(&one[..2], 1, 8).is_err(), "the table ends");
    }

    #[test]
    fn the_encoder_spreads_tall_images() {
        assert_eq!(choose(0, true), 1);
        assert_eq!(choose(10, true), 1);
        assert_eq!(choose(512, true), 1);
        assert_eq!(choose(513, true), 2);
        assert_eq!(choose(1024, true), 2);
        assert_eq!(choose(1025, true), 4, "a power of two: two threads' work balances");
        assert_eq!(choose(2048, true), 4);
        assert_eq!(choose(4096, true), 4);
        assert_eq!(choose(4096, false), 1);
        assert_eq!(choose_or(None, 4096, true).unwrap(), 4);
        assert_eq!(choose_or(Some(16), 4096, true).unwrap(), 16);
        assert_eq!(choose_or(Some(16), 10, true).unwrap(), 10, "one a row at most");
        assert_eq!(choose_or(Some(1), 4096, false).unwrap(), 1);
        for bad in [Some(0), Some(MAX_SUBSTREAMS + 1)] {
            assert!(choose_or(bad, 4096, true).is_err(), "{bad:?}");
        }
        assert!(choose_or(Some(2), 4096, false).is_err(), "multi-scale");
    }
}

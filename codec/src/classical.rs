//! The classical path of format version 2 (`FORMAT.md`): PNG's row filters (None, Sub, Up,
//! Average, Paeth) and Brotli, for images a learned model codes badly (screenshots, diagrams,
//! pixel art, flat synthetic images). The encoder keeps it when it is smaller than the model's
//! stream, so no image costs more than its PNG beyond a few bytes of header.

use std::io::{Read, Write};

use crate::error::{CodecError, Result};

/// PNG filter types.
const NONE: u8 = 0;
const SUB: u8 = 1;
const UP: u8 = 2;
const AVG: u8 = 3;
const PAETH: u8 = 4;

/// Brotli's densest settings: quality 11, a 16 MiB window.
const QUALITY: u32 = 11;
const LGWIN: u32 = 24;

#[inline]
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = a as i16 + b as i16 - c as i16;
    let (pa, pb, pc) = ((p - a as i16).abs(), (p - b as i16).abs(), (p - c as i16).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// The prediction of filter `f` for byte i of a row (`bpp` bytes per pixel).
#[inline]
fn predict(f: u8, row: &[u8], prev: &[u8], i: usize, bpp: usize) -> u8 {
    let a = if i >= bpp { row[i - bpp] } else { 0 };
    let b = prev[i];
    let c = if i >= bpp { prev[i - bpp] } else { 0 };
    match f {
        SUB => a,
        UP => b,
        AVG => ((a as u16 + b as u16) / 2) as u8,
        PAETH => paeth(a, b, c),
        _ => 0,
    }
}

/// Filters every row: with `adaptive`, each row with the filter of smallest Σ|residual as i8|
/// (libpng's heuristic); otherwise with no filter. Each row starts with its filter byte.
fn filter(pixels: &[u8], width: usize, height: usize, bpp: usize, adaptive: bool) -> Vec<u8> {
    let stride = width * bpp;
    let zero = vec![0u8; stride];
    let mut out = Vec::with_capacity(height * (stride + 1));
    let mut cand = vec![0u8; stride];
    for y in 0..height {
        let row = &pixels[y * stride..(y + 1) * stride];
        let prev = if y > 0 {
            &pixels[(y - 1) * stride..y * stride]
        } else {
            &zero[..]
        };
        let filters: &[u8] = if adaptive {
            &[NONE, SUB, UP, AVG, PAETH]
        } else {
            &[NONE]
        };
        let (mut best, mut best_cost) = (NONE, u64::MAX);
        for &f in filters {
            let cost: u64 = (0..stride)
                .map(|i| (row[i].wrapping_sub(predict(f, row, prev, i, bpp)) as i8).unsigned_abs() as u64)
                .sum();
            if cost < best_cost {
                (best, best_cost) = (f, cost);
            }
        }
        for (i, c) in cand.iter_mut().enumerate() {
            *c = row[i].wrapping_sub(predict(best, row, prev, i, bpp));
        }
        out.push(best);
        out.extend_from_slice(&cand);
    }
    out
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 1 << 16, QUALITY, LGWIN);
        w.write_all(data).expect("writing to a Vec cannot fail");
    }
    out
}

/// The classical stream of an H×W×C raster: the smaller of the adaptively filtered and the
/// unfiltered rows, Brotli-compressed.
pub fn encode(pixels: &[u8], width: usize, height: usize, channels: usize) -> Vec<u8> {
    let a = brotli(&filter(pixels, width, height, channels, true));
    let b = brotli(&filter(pixels, width, height, channels, false));
    if b.len() < a.len() {
        b
    } else {
        a
    }
}

/// Decodes a classical stream to the H×W×C raster; the size is known from the header, so the
/// decompressor never produces more than that.
pub fn decode(payload: &[u8], width: usize, height: usize, channels: usize) -> Result<Vec<u8>> {
    let stride = width * channels;
    let want = height * (stride + 1);
    let mut filtered = Vec::with_capacity(want);
    let mut r = brotli::Decompressor::new(payload, 1 << 16).take(want as u64 + 1);
    r.read_to_end(&mut filtered).map_err(|e| {
        CodecError::corrupt(
            "classical payload",
            "a complete Brotli stream",
            format!("{e} (the file is damaged or truncated)"),
        )
    })?;
    if filtered.len() != want {
        return Err(CodecError::corrupt(
            "classical payload",
            format!("{want} bytes of filtered rows"),
            format!(
                "{}{} bytes (the file is damaged or truncated)",
                filtered.len(),
                if filtered.len() > want { "+" } else { "" }
            ),
        ));
    }
    let mut out = vec![0u8; height * stride];
    for y in 0..height {
        let f = filtered[y * (stride + 1)];
        if f > PAETH {
            return Err(CodecError::corrupt(
                "classical payload",
                "filter types 0–4",
                format!("{f} in row {y}"),
            ));
        }
        let src = &filtered[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        let (done, rest) = out.split_at_mut(y * stride);
        let prev: &[u8] = if y > 0 { &done[(y - 1) * stride..] } else { &[] };
        let row = &mut rest[..stride];
        for i in 0..stride {
            let a = if i >= channels { row[i - channels] } else { 0 };
            let b = if y > 0 { prev[i] } else { 0 };
            let c = if y > 0 && i >= channels { prev[i - channels] } else { 0 };
            let p = match f {
                SUB => a,
                UP => b,
                AVG => ((a as u16 + b as u16) / 2) as u8,
                PAETH => paeth(a, b, c),
                _ => 0,
            };
            row[i] = src[i].wrapping_add(p);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
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
    fn flat_and_repetitive_images_shrink_a_lot() {
        let (w, h) = (64, 64);
        let px: Vec<u8> = (0..w * h * 3).map(|i| if (i / 3) % 8 < 4 { 200 } else { 30 }).collect();
        assert!(encode(&px, w, h, 3).len() < 200);
    }
}

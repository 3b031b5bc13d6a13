//! The classical path of format version 2 (`FORMAT.md`): a pixel transform (none, a palette of at
//! most 256 colours, or WebP's subtract-green), PNG's row filters (None, Sub, Up, Average, Paeth)
//! and Brotli, for images a learned model codes badly (screenshots, diagrams, pixel art, flat
//! synthetic images). The encoder keeps it when it is smaller than the model's stream, so images
//! cost about what their PNG does, or less, beyond a few bytes of header.
//!
//! The Brotli stream holds: the transform byte (0 none, 1 palette, 2 subtract-green, 3 packed
//! palette); for a palette, its size − 1 and its colours (`channels` bytes each); then the
//! filtered rows, each starting with its PNG filter byte (one byte per pixel for the palette,
//! 1, 2 or 4 bits per pixel for the packed one, `channels` bytes otherwise).

use std::io::{Read, Write};

use crate::error::{CodecError, Result};

/// PNG filter types.
const NONE: u8 = 0;
const SUB: u8 = 1;
const UP: u8 = 2;
const AVG: u8 = 3;
const PAETH: u8 = 4;

/// Brotli's densest settings: quality 11, a 16 MiB window; candidates are ranked at quality 9.
const QUALITY: u32 = 11;
const TRIAL_QUALITY: u32 = 9;
const LGWIN: u32 = 24;
/// Transforms.
const DIRECT: u8 = 0;
const PALETTE: u8 = 1;
const SUBTRACT_GREEN: u8 = 2;
/// A palette of at most 16 colours with its indices packed 8, 4 or 2 to a byte (PNG's low bit
/// depths: 1, 2 or 4 bits for ≤ 2, ≤ 4, ≤ 16 colours), most significant bits first.
const PACKED_PALETTE: u8 = 3;

/// Bits per index of a packed palette of `n` colours.
fn index_bits(n: usize) -> usize {
    match n {
        0..=2 => 1,
        3..=4 => 2,
        _ => 4,
    }
}

/// Packs `width`-long rows of indices `bits` at a time, most significant first.
fn pack(idx: &[u8], width: usize, bits: usize) -> (Vec<u8>, usize) {
    let per = 8 / bits;
    let row_bytes = width.div_ceil(per);
    let mut out = Vec::with_capacity(idx.len() / per + row_bytes);
    for row in idx.chunks_exact(width) {
        for group in row.chunks(per) {
            let mut b = 0u8;
            for (k, &i) in group.iter().enumerate() {
                b |= i << (8 - bits * (k + 1));
            }
            out.push(b);
        }
    }
    (out, row_bytes)
}

/// Inverse of [`pack`].
fn unpack(packed: &[u8], width: usize, bits: usize) -> Vec<u8> {
    let per = 8 / bits;
    let row_bytes = width.div_ceil(per);
    let mask = ((1u16 << bits) - 1) as u8;
    let mut out = Vec::with_capacity(packed.len() * per);
    for row in packed.chunks_exact(row_bytes) {
        for x in 0..width {
            out.push((row[x / per] >> (8 - bits * (x % per + 1))) & mask);
        }
    }
    out
}

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

fn brotli(data: &[u8], quality: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 1 << 16, quality, LGWIN);
        w.write_all(data).expect("writing to a Vec cannot fail");
    }
    out
}

/// The palette of a raster (colours sorted) and its indices, when it has at most 256 colours.
fn palette(pixels: &[u8], channels: usize) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut colours: Vec<&[u8]> = Vec::new();
    let mut map = std::collections::HashMap::new();
    let mut idx = Vec::with_capacity(pixels.len() / channels);
    for p in pixels.chunks_exact(channels) {
        let next = colours.len();
        let i = *map.entry(p).or_insert(next);
        if i == next {
            if next == 256 {
                return None;
            }
            colours.push(p);
        }
        idx.push(i as u8);
    }
    // Colours sorted (as byte strings): neighbouring indices then hold similar colours, which
    // helps the row filters.
    let mut order: Vec<usize> = (0..colours.len()).collect();
    order.sort_by_key(|&k| colours[k]);
    let mut rank = vec![0u8; colours.len()];
    for (r, &k) in order.iter().enumerate() {
        rank[k] = r as u8;
    }
    for i in &mut idx {
        *i = rank[*i as usize];
    }
    Some((order.iter().map(|&k| colours[k]).collect::<Vec<_>>().concat(), idx))
}

/// WebP's subtract-green: R − G and B − G (mod 256) for 3- and 4-channel rasters.
fn subtract_green(pixels: &[u8], channels: usize, sign: i8) -> Vec<u8> {
    let mut out = pixels.to_vec();
    for p in out.chunks_exact_mut(channels) {
        let g = p[1];
        let d = |v: u8| if sign < 0 { v.wrapping_sub(g) } else { v.wrapping_add(g) };
        p[0] = d(p[0]);
        p[2] = d(p[2]);
    }
    out
}

/// The classical stream of an H×W×C raster: every transform that applies, each with adaptive and
/// with no filtering, ranked at a fast Brotli quality; the best is compressed at the densest.
pub fn encode(pixels: &[u8], width: usize, height: usize, channels: usize) -> Vec<u8> {
    rank(pixels, width, height, channels).finish()
}

/// The classical coding's best candidate, ranked at Brotli's quality 9, before the final
/// compression at quality 11 ([`Ranked::finish`]), which takes about as long as the ranking
/// and is skipped where the result could not be kept.
pub struct Ranked {
    best: Vec<u8>,
    /// The best candidate's size at quality 9.
    pub estimate: u64,
}

/// The smallest a payload comes out at quality 11, as a fraction of its size at quality 9:
/// 0.80–0.95 on the 36 photos and `varied` images (quality 11 uses a 16 MiB window and
/// optimal parsing); a lower bound with room to spare.
pub const FINISH_RATIO: (u64, u64) = (3, 4);

impl Ranked {
    /// The smallest the finished payload is expected to be ([`FINISH_RATIO`] of the estimate).
    pub fn lower_bound(&self) -> u64 {
        self.estimate * FINISH_RATIO.0 / FINISH_RATIO.1
    }

    /// The classical payload: the best candidate at quality 11.
    pub fn finish(&self) -> Vec<u8> {
        brotli(&self.best, QUALITY)
    }
}

/// Every transform that applies to an H×W×C raster, each with adaptive and with no filtering,
/// ranked at a fast Brotli quality.
pub fn rank(pixels: &[u8], width: usize, height: usize, channels: usize) -> Ranked {
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    for adaptive in [true, false] {
        let mut direct = vec![DIRECT];
        direct.extend(filter(pixels, width, height, channels, adaptive));
        candidates.push(direct);
        if channels >= 3 {
            let mut sg = vec![SUBTRACT_GREEN];
            sg.extend(filter(
                &subtract_green(pixels, channels, -1),
                width,
                height,
                channels,
                adaptive,
            ));
            candidates.push(sg);
        }
    }
    if let Some((colours, idx)) = palette(pixels, channels) {
        let n = colours.len() / channels;
        for adaptive in [true, false] {
            let mut pal = vec![PALETTE, (n - 1) as u8];
            pal.extend_from_slice(&colours);
            pal.extend(filter(&idx, width, height, 1, adaptive));
            candidates.push(pal);
            if n <= 16 {
                let (packed, row_bytes) = pack(&idx, width, index_bits(n));
                let mut pal = vec![PACKED_PALETTE, (n - 1) as u8];
                pal.extend_from_slice(&colours);
                pal.extend(filter(&packed, row_bytes, height, 1, adaptive));
                candidates.push(pal);
            }
        }
    }
    let (best, estimate) = candidates
        .iter()
        .map(|c| brotli(c, TRIAL_QUALITY).len() as u64)
        .enumerate()
        .min_by_key(|&(_, len)| len)
        .expect("at least the direct transform");
    Ranked {
        best: candidates.swap_remove(best),
        estimate,
    }
}

/// Reverses PNG filtering: `filtered` holds `height` rows of `1 + stride` bytes.
fn unfilter(filtered: &[u8], height: usize, stride: usize, bpp: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; height * stride];
    let zero = vec![0u8; stride];
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
        let prev: &[u8] = if y > 0 { &done[(y - 1) * stride..] } else { &zero };
        let row = &mut rest[..stride];
        for i in 0..stride {
            row[i] = src[i].wrapping_add(predict(f, row, prev, i, bpp));
        }
    }
    Ok(out)
}

fn damaged(what: String) -> CodecError {
    CodecError::corrupt(
        "classical payload",
        "a complete stream",
        format!("{what} (the file is damaged or truncated)"),
    )
}

/// Decodes a classical stream to the H×W×C raster; the size is known from the header, so the
/// decompressor never produces more than the largest stream of that size.
pub fn decode(payload: &[u8], width: usize, height: usize, channels: usize) -> Result<Vec<u8>> {
    let most = 2 + 256 * channels + height * (width * channels + 1);
    let mut data = Vec::with_capacity(most.min(1 << 24));
    let mut r = brotli::Decompressor::new(payload, 1 << 16).take(most as u64 + 1);
    r.read_to_end(&mut data).map_err(|e| damaged(e.to_string()))?;
    let (&transform, rest) = data.split_first().ok_or_else(|| damaged("no data".into()))?;
    let rows = |bpp: usize, rows: &[u8]| -> Result<Vec<u8>> {
        let want = height * (width * bpp + 1);
        if rows.len() != want {
            return Err(damaged(format!(
                "{} bytes of filtered rows, {want} expected",
                rows.len()
            )));
        }
        unfilter(rows, height, width * bpp, bpp)
    };
    match transform {
        DIRECT => rows(channels, rest),
        SUBTRACT_GREEN if channels >= 3 => Ok(subtract_green(&rows(channels, rest)?, channels, 1)),
        PALETTE | PACKED_PALETTE => {
            let (&n1, rest) = rest.split_first().ok_or_else(|| damaged("no palette size".into()))?;
            let n = n1 as usize + 1;
            if rest.len() < n * channels || (transform == PACKED_PALETTE && n > 16) {
                return Err(damaged("a short or oversized palette".into()));
            }
            let (colours, rest) = rest.split_at(n * channels);
            let idx = if transform == PALETTE {
                rows(1, rest)?
            } else {
                let bits = index_bits(n);
                let row_bytes = width.div_ceil(8 / bits);
                let want = height * (row_bytes + 1);
                if rest.len() != want {
                    return Err(damaged(format!("{} bytes of packed rows, {want} expected", rest.len())));
                }
                unpack(&unfilter(rest, height, row_bytes, 1)?, width, bits)
            };
            let mut out = Vec::with_capacity(idx.len() * channels);
            for &i in &idx {
                if i as usize >= n {
                    return Err(damaged(format!("palette index {i} of {n} colours")));
                }
                out.extend_from_slice(&colours[i as usize * channels..][..channels]);
            }
            Ok(out)
        }
        t => Err(damaged(format!("transform {t}"))),
    }
}

#[cfg(test)]
#[path = "classical_tests.rs"]
mod tests;

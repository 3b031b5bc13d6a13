//! Format version 12's metadata (`FORMAT.md`): what an image file carries beside its pixels that
//! changes how it is shown, an ICC colour profile and EXIF data, kept in the header as Brotli
//! streams so that a decoded image is shown as the original was.

use crate::error::{CodecError, Result};
use crate::varint;

/// Most bytes one entry may hold once inflated (ICC profiles are kilobytes, EXIF at most 64 KiB
/// in a JPEG): a decoder allocates no more than this per entry.
pub const MAX_METADATA: u32 = 16 << 20;
/// Most entries a header holds (one of each kind).
const MAX_ENTRIES: usize = 2;

/// What an entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaKind {
    /// An ICC colour profile (ICC.1), as PNG's `iCCP` or JPEG's `APP2` carry it, uncompressed.
    Icc,
    /// EXIF data: a TIFF structure (`II*\0` or `MM\0*` first), as PNG's `eXIf` carries it.
    Exif,
}

impl MetaKind {
    fn tag(self) -> u8 {
        match self {
            MetaKind::Icc => 1,
            MetaKind::Exif => 2,
        }
    }
}

/// One entry: its kind and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    pub kind: MetaKind,
    pub data: Vec<u8>,
}

/// Checks what an encoder is asked to keep: at most one entry of each kind, each 1 to
/// [`MAX_METADATA`] bytes.
pub(crate) fn check(entries: &[Metadata]) -> Result<()> {
    let bad = |why: String| Err(CodecError::BadParameter(format!("metadata: {why}")));
    for (i, e) in entries.iter().enumerate() {
        if e.data.is_empty() || e.data.len() > MAX_METADATA as usize {
            return bad(format!("{:?} of {} bytes (1 to {MAX_METADATA})", e.kind, e.data.len()));
        }
        if entries[..i].iter().any(|o| o.kind == e.kind) {
            return bad(format!("two {:?} entries", e.kind));
        }
    }
    Ok(())
}

/// Appends the entries' field: their count, then each one's kind, inflated length, stored length
/// and Brotli stream.
pub(crate) fn put(b: &mut Vec<u8>, entries: &[Metadata]) {
    b.push(entries.len() as u8);
    for e in entries {
        let mut stored = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut &e.data[..], &mut stored, &params).expect("writing to a Vec");
        b.push(e.kind.tag());
        varint::put(b, e.data.len() as u32);
        varint::put(b, stored.len() as u32);
        b.extend_from_slice(&stored);
    }
}

/// Reads the entries' field at `pos` (advanced past it), inflating each stream to no more than
/// its stated length; `truncated` reports a short header.
pub(crate) fn get(b: &[u8], pos: &mut usize, truncated: impl Fn() -> CodecError) -> Result<Vec<Metadata>> {
    let n = *b.get(*pos).ok_or_else(&truncated)? as usize;
    *pos += 1;
    if !(1..=MAX_ENTRIES).contains(&n) {
        return Err(CodecError::corrupt(
            "metadata",
            format!("1 to {MAX_ENTRIES} entries"),
            n,
        ));
    }
    let mut entries: Vec<Metadata> = Vec::with_capacity(n);
    for _ in 0..n {
        let tag = *b.get(*pos).ok_or_else(&truncated)?;
        *pos += 1;
        let kind = match tag {
            1 => MetaKind::Icc,
            2 => MetaKind::Exif,
            t => return Err(CodecError::corrupt("metadata kind", "1 (ICC) or 2 (EXIF)", t)),
        };
        if entries.iter().any(|e| e.kind == kind) {
            return Err(CodecError::corrupt(
                "metadata",
                "one entry of each kind",
                format!("two {kind:?}"),
            ));
        }
        let len = varint::get(b, pos, "metadata length", &truncated)?;
        if !(1..=MAX_METADATA).contains(&len) {
            return Err(CodecError::corrupt(
                "metadata length",
                format!("1 to {MAX_METADATA}"),
                len,
            ));
        }
        let stored = varint::get(b, pos, "metadata stored length", &truncated)? as usize;
        let end = pos
            .checked_add(stored)
            .filter(|&e| e <= b.len())
            .ok_or_else(&truncated)?;
        let data = inflate(&b[*pos..end], len as usize)
            .ok_or_else(|| CodecError::corrupt("metadata", format!("a Brotli stream of {len} bytes"), "other bytes"))?;
        *pos = end;
        entries.push(Metadata { kind, data });
    }
    Ok(entries)
}

/// `stream` inflated, if it is a Brotli stream of exactly `len` bytes (never more is kept).
fn inflate(stream: &[u8], len: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::with_capacity(len.min(1 << 16));
    let reader = brotli::Decompressor::new(stream, 4096);
    reader.take(len as u64 + 1).read_to_end(&mut out).ok()?;
    (out.len() == len).then_some(out)
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;

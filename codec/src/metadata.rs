//! Format version 12's metadata (`FORMAT.md`): what an image file carries beside its pixels that
//! changes how it is shown, an ICC colour profile and EXIF data, kept in the header byte for byte
//! so that a decoded image is shown as the original was. They are stored as they are, not
//! compressed: a header's bytes (and so where the payload starts) must come out the same from
//! every build, which a compressor's output need not.

use crate::error::{CodecError, Result};
use crate::varint;

/// Most bytes one entry may hold (ICC profiles are kilobytes, EXIF at most 64 KiB in a JPEG).
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

/// Appends the entries' field: their count, then each one's kind, length and bytes.
pub(crate) fn put(b: &mut Vec<u8>, entries: &[Metadata]) {
    b.push(entries.len() as u8);
    for e in entries {
        b.push(e.kind.tag());
        varint::put(b, e.data.len() as u32);
        b.extend_from_slice(&e.data);
    }
}

/// Reads the entries' field at `pos` (advanced past it); `truncated` reports a short header.
/// An entry is copied only once its bytes are known to be present.
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
        let end = pos
            .checked_add(len as usize)
            .filter(|&e| e <= b.len())
            .ok_or_else(&truncated)?;
        entries.push(Metadata {
            kind,
            data: b[*pos..end].to_vec(),
        });
        *pos = end;
    }
    Ok(entries)
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;

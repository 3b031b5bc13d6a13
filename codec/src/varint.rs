//! Unsigned LEB128 varints of at most 32 bits, always minimal: the version 2 header's sizes and
//! model index, and version 3's substream table.

use crate::error::{CodecError, Result};

/// Appends `v`.
pub fn put(out: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads the varint at `*pos` and moves past it; `truncated` is the error when the bytes end
/// first (the caller knows what was cut short), `what` names the field in the others.
pub fn get(b: &[u8], pos: &mut usize, what: &'static str, truncated: impl Fn() -> CodecError) -> Result<u32> {
    let mut v = 0u64;
    for i in 0..5 {
        let byte = *b.get(*pos).ok_or_else(&truncated)?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            if (i > 0 && byte == 0) || v > u32::MAX as u64 {
                return Err(CodecError::corrupt(what, "a minimal 32-bit varint", format!("{v}")));
            }
            return Ok(v as u32);
        }
    }
    Err(CodecError::corrupt(what, "a varint of at most 5 bytes", "a longer one"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut() -> CodecError {
        CodecError::corrupt("x", "more bytes", "none")
    }

    #[test]
    fn round_trip_minimal_and_bounded() {
        for v in [0, 1, 127, 128, 16383, 16384, u32::MAX] {
            let mut b = Vec::new();
            put(&mut b, v);
            let mut p = 0;
            assert_eq!(get(&b, &mut p, "x", cut).unwrap(), v);
            assert_eq!(p, b.len());
        }
        let mut p = 0;
        assert!(get(&[0x80, 0x00], &mut p, "x", cut).is_err(), "a non-minimal varint");
        p = 0;
        assert!(
            get(&[0xff, 0xff, 0xff, 0xff, 0x7f], &mut p, "x", cut).is_err(),
            "above 32 bits"
        );
        p = 0;
        assert!(
            get(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], &mut p, "x", cut).is_err(),
            "too long"
        );
        p = 0;
        assert!(get(&[0x80], &mut p, "x", cut).is_err(), "truncated");
    }
}

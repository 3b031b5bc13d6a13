//! Format version 2's compact header (`FORMAT.md`; version 3 has the same header with its own
//! version byte): the coding mode, built-in models named by a
//! permanent index, sizes as varints, and a 16-bit header check; the payload is the rest of the
//! file. A file coded with a built-in model has a 21-byte header up to 16383 × 16383 pixels.

use byteorder::{ByteOrder, LittleEndian as LE};
use pixelrnn_model::defaults::builtin_id;

use crate::container::{Header, Limits, Mode, FLAG_ADAPTIVE, FLAG_METADATA, FLAG_OPAQUE_ALPHA, FLAG_PHASES, MAGIC};
use crate::error::{CodecError, Result};
use crate::varint;

/// Flag bits 1–2: the mode (0 model, 1 classical). Bit 3: adaptive coding. Bits 4–7 are
/// reserved (zero).
const MODE_SHIFT: u8 = 1;
const MODE_MASK: u8 = 0b110;
/// Model reference tags.
const TAG_NONE: u8 = 0;
const TAG_BUILTIN: u8 = 1;
const TAG_ID: u8 = 2;

/// A version 2 header field's varint ([`varint::get`]), truncation reported as a short header.
fn get_varint(b: &[u8], pos: &mut usize, what: &'static str) -> Result<u32> {
    varint::get(b, pos, what, || truncated(b.len()))
}

fn truncated(n: usize) -> CodecError {
    CodecError::corrupt("header", "a complete header", format!("{n} bytes (truncated)"))
}

impl Header {
    /// The version 2 header bytes.
    pub(crate) fn to_bytes_v2(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(24);
        b.extend_from_slice(&MAGIC[..5]);
        b.push(self.version);
        let mode = match self.mode {
            Mode::Model => 0,
            Mode::Classical => 1,
            Mode::Context => 2,
        };
        let meta = if self.metadata.is_empty() { 0 } else { FLAG_METADATA };
        b.push((self.flags & (FLAG_OPAQUE_ALPHA | FLAG_ADAPTIVE | FLAG_PHASES)) | meta | (mode << MODE_SHIFT));
        b.push(self.channels | (self.coded_channels << 4));
        b.push((self.levels - 1) as u8);
        varint::put(&mut b, self.width);
        varint::put(&mut b, self.height);
        match (self.mode, self.builtin) {
            (Mode::Classical | Mode::Context, _) => b.push(TAG_NONE),
            (Mode::Model, Some(i)) => {
                b.push(TAG_BUILTIN);
                varint::put(&mut b, i);
            }
            (Mode::Model, None) => {
                b.push(TAG_ID);
                b.extend_from_slice(&self.model_id);
            }
        }
        if !self.metadata.is_empty() {
            crate::metadata::put(&mut b, &self.metadata);
        }
        b.extend_from_slice(&self.pixel_crc.to_le_bytes());
        let check = crc32fast::hash(&b) as u16;
        b.extend_from_slice(&check.to_le_bytes());
        b
    }

    /// Parses and validates a version 2 or 3 header (`file` starts with the magic and the
    /// version byte).
    pub(crate) fn parse_v2(file: &[u8], limits: &Limits) -> Result<Header> {
        let n = file.len();
        let byte = |i: usize| file.get(i).copied().ok_or_else(|| truncated(n));
        let flags = byte(6)?;
        let layout = byte(7)?;
        let levels = byte(8)? as u16 + 1;
        let mut pos = 9;
        let width = get_varint(file, &mut pos, "width")?;
        let height = get_varint(file, &mut pos, "height")?;
        let tag = byte(pos)?;
        pos += 1;
        let (mut model_id, mut builtin) = ([0u8; 32], None);
        let tag_ok = match tag {
            TAG_NONE => true,
            TAG_BUILTIN => {
                let i = get_varint(file, &mut pos, "built-in model index")?;
                builtin = Some(i);
                // An index this build does not know is reported once the check has passed (so a
                // damaged index reads as damage, not as a newer file).
                model_id = builtin_id(i).unwrap_or([0; 32]);
                true
            }
            TAG_ID => {
                let id = file.get(pos..pos + 32).ok_or_else(|| truncated(n))?;
                model_id.copy_from_slice(id);
                pos += 32;
                true
            }
            _ => false,
        };
        // The flag is checked below, once the header check has passed; a version before 12
        // with it set is rejected there.
        let metadata = if flags & FLAG_METADATA != 0 && file[5] >= 12 {
            crate::metadata::get(file, &mut pos, || truncated(n))?
        } else {
            Vec::new()
        };
        let crc = file.get(pos..pos + 4).ok_or_else(|| truncated(n))?;
        let pixel_crc = LE::read_u32(crc);
        pos += 4;
        let stored = LE::read_u16(file.get(pos..pos + 2).ok_or_else(|| truncated(n))?);
        let computed = crc32fast::hash(&file[..pos]) as u16;
        if stored != computed {
            return Err(CodecError::corrupt(
                "header check",
                format!("{computed:04x}"),
                format!("{stored:04x}"),
            ));
        }
        pos += 2;
        if !tag_ok {
            return Err(CodecError::corrupt("model reference", "tag 0, 1 or 2", tag));
        }
        let known = FLAG_OPAQUE_ALPHA
            | MODE_MASK
            | FLAG_ADAPTIVE
            | if file[5] >= 9 { FLAG_PHASES } else { 0 }
            | if file[5] >= 12 { FLAG_METADATA } else { 0 };
        if flags & !known != 0 {
            return Err(CodecError::Unsupported(format!(
                "flags {flags:#04x} (this build knows bits {} of a version {} file; a newer pixelrnn \
                 may read it)",
                match file[5] {
                    12.. => "0–5",
                    9.. => "0–4",
                    _ => "0–3",
                },
                file[5]
            )));
        }
        if flags & FLAG_PHASES != 0 && flags & FLAG_ADAPTIVE == 0 {
            return Err(CodecError::corrupt(
                "flags",
                "the phase flag only with the adaptive coding",
                format!("{flags:#04x}"),
            ));
        }
        let mode = match (flags & MODE_MASK) >> MODE_SHIFT {
            0 => Mode::Model,
            1 => Mode::Classical,
            2 if file[5] >= 6 => Mode::Context,
            m => {
                return Err(CodecError::Unsupported(format!(
                    "coding mode {m} (a newer pixelrnn may read it)"
                )))
            }
        };
        if !mode.needs_model() && flags & FLAG_ADAPTIVE != 0 {
            return Err(CodecError::corrupt(
                "flags",
                "adaptive coding only with a model",
                "both",
            ));
        }
        if mode.needs_model() == (tag == TAG_NONE) {
            return Err(CodecError::corrupt(
                "model reference",
                "a model exactly when the payload is model-coded",
                format!("tag {tag} with {mode:?}"),
            ));
        }
        if let (Some(i), true) = (builtin, model_id == [0; 32]) {
            return Err(CodecError::Unsupported(format!(
                "built-in model #{i}, which this build does not carry (a newer pixelrnn may; or pass \
                 that model's weight file with --model)"
            )));
        }
        let h = Header {
            version: file[5],
            mode,
            builtin,
            flags: flags & (FLAG_OPAQUE_ALPHA | FLAG_ADAPTIVE | FLAG_PHASES),
            channels: layout & 0x0f,
            coded_channels: layout >> 4,
            levels,
            width,
            height,
            model_id,
            pixel_crc,
            payload_len: (n - pos) as u64,
            metadata,
        };
        h.check(limits)?;
        if h.payload_len == 0 {
            return Err(CodecError::corrupt(
                "payload",
                "at least one byte",
                "none (the file is truncated)",
            ));
        }
        if (mode == Mode::Model && h.version == 2 || mode == Mode::Context) && !h.payload_len.is_multiple_of(4) {
            return Err(CodecError::corrupt(
                "payload length",
                "a multiple of 4 (range-coder words)",
                format!("{} (the file is truncated or damaged)", h.payload_len),
            ));
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(mode: Mode, builtin: Option<u32>) -> Header {
        Header {
            version: 2,
            mode,
            builtin,
            flags: FLAG_OPAQUE_ALPHA,
            channels: 4,
            coded_channels: 3,
            levels: 256,
            width: 300,
            height: 17,
            model_id: match (mode, builtin) {
                (Mode::Classical | Mode::Context, _) => [0; 32],
                (_, Some(i)) => builtin_id(i).unwrap(),
                _ => [7; 32],
            },
            pixel_crc: 0xDEAD_BEEF,
            payload_len: 8,
            metadata: Vec::new(),
        }
    }

    fn file(h: &Header) -> Vec<u8> {
        let mut f = h.to_bytes();
        f.extend(std::iter::repeat_n(1u8, h.payload_len as usize));
        f
    }

    #[test]
    fn parse_after_write_is_identity_and_short() {
        for h in [
            sample(Mode::Model, Some(3)),
            sample(Mode::Model, None),
            sample(Mode::Classical, None),
        ] {
            let f = file(&h);
            assert_eq!(Header::parse(&f, &Limits::default()).unwrap(), h);
            assert_eq!(h.header_len(), f.len() - 8);
        }
        let big = Header {
            width: 16383,
            height: 16383,
            ..sample(Mode::Model, Some(3))
        };
        assert_eq!(big.header_len(), 21, "a built-in model's header up to 16383 × 16383");
    }

    #[test]
    fn every_flipped_header_bit_is_caught() {
        for h in [
            sample(Mode::Model, Some(3)),
            sample(Mode::Classical, None),
            sample(Mode::Model, None),
        ] {
            let f = file(&h);
            for bit in 0..h.header_len() * 8 {
                let mut g = f.clone();
                g[bit / 8] ^= 1 << (bit % 8);
                assert!(Header::parse(&g, &Limits::default()).is_err(), "bit {bit} not caught");
            }
        }
    }

    #[test]
    fn truncation_and_unknown_models_are_clear() {
        let f = file(&sample(Mode::Model, Some(3)));
        for n in 0..f.len() - 8 {
            assert!(Header::parse(&f[..n], &Limits::default()).is_err(), "{n}");
        }
        let h = Header {
            model_id: [0; 32],
            builtin: Some(77),
            ..sample(Mode::Model, Some(3))
        };
        let e = Header::parse(&file(&h), &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("#77"), "{e}");
        let big = Header {
            width: 1 << 20,
            height: 1 << 20,
            ..sample(Mode::Classical, None)
        };
        assert!(matches!(
            Header::parse(&file(&big), &Limits::default()),
            Err(CodecError::Limit { .. })
        ));
    }
}

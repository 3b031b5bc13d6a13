//! The `.prnn` header (see `FORMAT.md`): the fields, writing, parsing and validation against
//! [`Limits`] of format version 1 (fixed 80 bytes); version 2 (compact, with the coding mode) is
//! in [`crate::v2`].

use byteorder::{ByteOrder, LittleEndian as LE};
use pixelrnn_model::{id_hex, Arith, ModelId};

use crate::error::{CodecError, Result};
use crate::metadata::Metadata;

pub const MAGIC: [u8; 8] = *b"\x89PRNN\r\n\x1a";
/// The newest format version, the one the encoder writes by default.
pub const VERSION: u8 = 12;
// Byte 5 tells version 1's magic (0D) from a later version's number, so 13 is never a version.
const _: () = assert!(VERSION != MAGIC[5] && MAGIC[5] == 13);
/// Length of a version 1 header.
pub const HEADER_LEN: usize = 80;
/// Flag bit 0: an all-255 alpha channel was dropped before coding.
pub const FLAG_OPAQUE_ALPHA: u8 = 1;
/// Flag bit 3 (version 2, model coding): the model's distributions were mixed with the adaptive
/// expert ([`crate::adapt`]).
pub const FLAG_ADAPTIVE: u8 = 8;
/// Flag bit 4 (version 9, adaptive model coding): the context stage is kept per pixel phase
/// from the phase row on ([`crate::phase_row`]).
pub const FLAG_PHASES: u8 = 16;
/// Flag bit 5 (version 12): the header keeps metadata, an ICC profile or EXIF data
/// ([`crate::metadata`]).
pub const FLAG_METADATA: u8 = 32;

/// The engine arithmetic a format version's model-coded payload was computed with: version 3
/// uses fused multiply-adds ([`Arith::Fma`], on this CPU's fastest path: every path gives the
/// same bits), versions 1 and 2 the arithmetic they were written with ([`Arith::Legacy`]).
pub fn arith_of(version: u8) -> Arith {
    if version >= 3 {
        Arith::fma()
    } else {
        Arith::Legacy
    }
}

/// Size limits a decoder checks before allocating (in the manner of image-png's `Limits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest width × height accepted.
    pub max_pixels: u64,
    /// Largest payload accepted, in bytes.
    pub max_payload: u64,
}

impl Default for Limits {
    /// 2^28 pixels (e.g. 16384 × 16384) and 4 GiB of payload.
    fn default() -> Self {
        Limits {
            max_pixels: 1 << 28,
            max_payload: 1 << 32,
        }
    }
}

/// How the payload codes the pixels (format version 2; version 1 files are all `Model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Range coding with the model's distributions.
    Model,
    /// PNG row filters and Brotli ([`crate::classical`]); needs no model.
    Classical,
    /// Range coding with the context model of hashed neighbour colours (format version 6,
    /// [`crate::context`]); needs no model.
    Context,
}

impl Mode {
    /// Whether decoding needs the network the header names.
    pub fn needs_model(self) -> bool {
        self == Mode::Model
    }
}

/// The fields of a `.prnn` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version (1 to [`VERSION`]).
    pub version: u8,
    pub mode: Mode,
    /// The permanent index of the model when it is a built-in one (version 2 writes the index
    /// instead of the id).
    pub builtin: Option<u32>,
    pub flags: u8,
    pub channels: u8,
    pub coded_channels: u8,
    pub levels: u16,
    pub width: u32,
    pub height: u32,
    pub model_id: ModelId,
    pub pixel_crc: u32,
    pub payload_len: u64,
    /// Version 12: what the image carried beside its pixels (empty: nothing; the header's flag
    /// follows it).
    pub metadata: Vec<Metadata>,
}

impl Header {
    pub fn pixels(&self) -> u64 {
        self.width as u64 * self.height as u64
    }

    /// Coded sub-pixels: width × height × coded channels.
    pub fn coded_subpixels(&self) -> u64 {
        self.pixels() * self.coded_channels as u64
    }

    /// Payload bits per coded sub-pixel.
    pub fn bits_per_subpixel(&self) -> f64 {
        self.payload_len as f64 * 8.0 / self.coded_subpixels() as f64
    }

    pub fn opaque_alpha_dropped(&self) -> bool {
        self.flags & FLAG_OPAQUE_ALPHA != 0
    }

    /// Whether the payload was coded adaptively.
    pub fn adaptive(&self) -> bool {
        self.flags & FLAG_ADAPTIVE != 0
    }

    /// Version 9: the adaptive coding's context stage is kept per pixel phase.
    pub fn phases(&self) -> bool {
        self.flags & FLAG_PHASES != 0
    }

    /// The header bytes, CRC included, in the header's version.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self.version {
            1 => self.to_bytes_v1().to_vec(),
            _ => self.to_bytes_v2(),
        }
    }

    /// The header's length in bytes (where the payload starts).
    pub fn header_len(&self) -> usize {
        match self.version {
            1 => HEADER_LEN,
            _ => self.to_bytes_v2().len(),
        }
    }

    /// The model coding's substreams in `file` (this header's file): the most threads it
    /// decodes on. None for the other codings, and for versions 1 and 2 (one stream); an error
    /// if the payload's substream table is damaged.
    pub fn substreams(&self, file: &[u8]) -> Result<Option<usize>> {
        Ok(self.spread(file)?.map(|s| s.substreams))
    }

    /// The model coding's substreams and lanes in `file` (this header's file); None as for
    /// [`Header::substreams`].
    pub fn spread(&self, file: &[u8]) -> Result<Option<crate::Spread>> {
        if self.mode != Mode::Model || self.version < 3 {
            return Ok(None);
        }
        let payload = file.get(self.header_len()..).unwrap_or_default();
        crate::substreams::spread(payload, self.height as usize, self.version).map(Some)
    }

    /// The 80 bytes of a version 1 header, CRC included.
    fn to_bytes_v1(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..8].copy_from_slice(&MAGIC);
        b[8] = 1;
        b[9] = self.flags;
        b[10] = self.channels;
        b[11] = self.coded_channels;
        LE::write_u16(&mut b[12..14], self.levels);
        LE::write_u32(&mut b[16..20], self.width);
        LE::write_u32(&mut b[20..24], self.height);
        b[24..56].copy_from_slice(&self.model_id);
        // 56..64: tile width and height, 0 = one tile.
        LE::write_u32(&mut b[64..68], self.pixel_crc);
        LE::write_u64(&mut b[68..76], self.payload_len);
        let crc = crc32fast::hash(&b[..76]);
        LE::write_u32(&mut b[76..80], crc);
        b
    }

    /// Parses and validates a header of any version from the start of `file`, including that
    /// the payload length matches the bytes present. Nothing is allocated but version 12's
    /// metadata, each entry at most its stated length ([`crate::metadata::MAX_METADATA`]).
    pub fn parse(file: &[u8], limits: &Limits) -> Result<Header> {
        if file.len() >= 6 && file[..5] == MAGIC[..5] && file[5] != MAGIC[5] {
            return match file[5] {
                2..=VERSION => Header::parse_v2(file, limits),
                v => Err(CodecError::Unsupported(format!(
                    "format version {v} (this build reads versions 1 to {VERSION}; a newer pixelrnn may read it)"
                ))),
            };
        }
        Header::parse_v1(file, limits)
    }

    fn parse_v1(file: &[u8], limits: &Limits) -> Result<Header> {
        if file.len() < MAGIC.len() || file[..8] != MAGIC {
            let found = &file[..file.len().min(8)];
            let why = if file.is_empty() {
                "an empty file (truncated, or not a .prnn file)".to_string()
            } else if MAGIC.starts_with(found) {
                format!("{} (the file is truncated)", hex(found))
            } else {
                format!("{} (not a .prnn file)", hex(found))
            };
            return Err(CodecError::corrupt("magic", hex(&MAGIC), why));
        }
        if file.len() < 9 {
            return Err(CodecError::corrupt(
                "header",
                format!("{HEADER_LEN} bytes"),
                format!("{} bytes (truncated)", file.len()),
            ));
        }
        if file[8] != 1 {
            return Err(CodecError::Unsupported(format!(
                "format version {} (this build reads versions 1 to {VERSION}; a newer pixelrnn may read it)",
                file[8]
            )));
        }
        if file.len() < HEADER_LEN {
            return Err(CodecError::corrupt(
                "header",
                format!("{HEADER_LEN} bytes"),
                format!("{} bytes (truncated)", file.len()),
            ));
        }
        let b = &file[..HEADER_LEN];
        let stored = LE::read_u32(&b[76..80]);
        let computed = crc32fast::hash(&b[..76]);
        if stored != computed {
            return Err(CodecError::corrupt(
                "header CRC",
                format!("{computed:08x}"),
                format!("{stored:08x}"),
            ));
        }
        let h = Header {
            version: 1,
            mode: Mode::Model,
            builtin: None,
            flags: b[9],
            channels: b[10],
            coded_channels: b[11],
            levels: LE::read_u16(&b[12..14]),
            width: LE::read_u32(&b[16..20]),
            height: LE::read_u32(&b[20..24]),
            model_id: b[24..56].try_into().expect("32 bytes"),
            pixel_crc: LE::read_u32(&b[64..68]),
            payload_len: LE::read_u64(&b[68..76]),
            metadata: Vec::new(),
        };
        if h.flags & !FLAG_OPAQUE_ALPHA != 0 {
            return Err(CodecError::Unsupported(format!(
                "flags {:#04x} (this build knows bit 0 only)",
                h.flags
            )));
        }
        if LE::read_u16(&b[14..16]) != 0 {
            return Err(CodecError::corrupt("reserved field", 0, LE::read_u16(&b[14..16])));
        }
        let (tw, th) = (LE::read_u32(&b[56..60]), LE::read_u32(&b[60..64]));
        if tw != 0 || th != 0 {
            return Err(CodecError::Unsupported(format!(
                "tiled coding ({tw}×{th} tiles) needs a newer pixelrnn"
            )));
        }
        h.check(limits)?;
        if !h.payload_len.is_multiple_of(4) {
            return Err(CodecError::corrupt("payload length", "a multiple of 4", h.payload_len));
        }
        let present = (file.len() - HEADER_LEN) as u64;
        if present < h.payload_len {
            return Err(CodecError::corrupt(
                "payload",
                format!("{} bytes", h.payload_len),
                format!("{present} bytes (the file is truncated)"),
            ));
        }
        if present > h.payload_len {
            return Err(CodecError::corrupt(
                "file length",
                format!("{} payload bytes", h.payload_len),
                format!("{} trailing bytes after the payload", present - h.payload_len),
            ));
        }
        Ok(h)
    }

    /// The checks every version shares: layout, levels, size and the limits (before anything is
    /// allocated).
    pub(crate) fn check(&self, limits: &Limits) -> Result<()> {
        let h = self;
        if !(1..=4).contains(&h.channels) {
            return Err(CodecError::corrupt("channels", "1–4", h.channels));
        }
        let want_coded = if h.opaque_alpha_dropped() {
            h.channels - 1
        } else {
            h.channels
        };
        if h.opaque_alpha_dropped() && !h.channels.is_multiple_of(2) {
            return Err(CodecError::corrupt(
                "flags",
                "no dropped alpha for a layout without alpha",
                format!("{} channels", h.channels),
            ));
        }
        if h.coded_channels != want_coded {
            return Err(CodecError::corrupt("coded channels", want_coded, h.coded_channels));
        }
        if !(2..=256).contains(&h.levels) {
            return Err(CodecError::corrupt("levels", "2–256", h.levels));
        }
        if h.width == 0 || h.height == 0 {
            return Err(CodecError::corrupt(
                "image size",
                "at least 1×1",
                format!("{}×{}", h.width, h.height),
            ));
        }
        if h.pixels() > limits.max_pixels {
            return Err(CodecError::Limit {
                what: "pixel count",
                value: h.pixels(),
                limit: limits.max_pixels,
                hint: " (raise it with --max-pixels if you trust the file)",
            });
        }
        if h.payload_len > limits.max_payload {
            return Err(CodecError::Limit {
                what: "payload size",
                value: h.payload_len,
                limit: limits.max_payload,
                hint: "",
            });
        }
        Ok(())
    }

    /// The model id as hex.
    pub fn model_hex(&self) -> String {
        id_hex(&self.model_id)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
#[path = "container_tests.rs"]
mod tests;

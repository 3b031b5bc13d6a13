//! The codec's image type (8-bit, 1–4 interleaved channels) and the opaque-alpha layout rule.

use crate::error::{CodecError, Result};

/// An 8-bit image: `channels` sub-pixels per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA),
/// rows top to bottom, sub-pixels interleaved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub pixels: Vec<u8>,
}

impl Image {
    /// Checks the layout and that the buffer length matches.
    pub fn new(width: u32, height: u32, channels: u8, pixels: Vec<u8>) -> Result<Image> {
        if !(1..=4).contains(&channels) {
            return Err(CodecError::BadParameter(format!(
                "{channels} channels (pixelrnn codes 1–4)"
            )));
        }
        if width == 0 || height == 0 {
            return Err(CodecError::BadParameter(format!("empty image {width}×{height}")));
        }
        let want = width as u64 * height as u64 * channels as u64;
        if pixels.len() as u64 != want {
            return Err(CodecError::BadParameter(format!(
                "pixel buffer of {} bytes for a {width}×{height}×{channels} image ({want} bytes)",
                pixels.len()
            )));
        }
        Ok(Image {
            width,
            height,
            channels,
            pixels,
        })
    }

    pub fn has_alpha(&self) -> bool {
        self.channels.is_multiple_of(2)
    }

    /// True for a layout with alpha whose every alpha value is 255.
    pub fn alpha_is_opaque(&self) -> bool {
        self.has_alpha()
            && self
                .pixels
                .chunks_exact(self.channels as usize)
                .all(|p| p[self.channels as usize - 1] == 255)
    }

    /// The pixels without the alpha channel.
    pub(crate) fn without_alpha(&self) -> Vec<u8> {
        let c = self.channels as usize;
        self.pixels
            .chunks_exact(c)
            .flat_map(|p| p[..c - 1].iter().copied())
            .collect()
    }

    /// Re-inserts an opaque alpha channel after every `channels − 1` coded sub-pixels.
    pub(crate) fn with_opaque_alpha(coded: &[u8], coded_channels: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(coded.len() / coded_channels * (coded_channels + 1));
        for p in coded.chunks_exact(coded_channels) {
            v.extend_from_slice(p);
            v.push(255);
        }
        v
    }

    /// Sub-pixels per pixel that will be coded: one fewer when an all-opaque alpha is dropped.
    pub fn coded_channels(&self, drop_opaque_alpha: bool) -> u8 {
        if drop_opaque_alpha && self.alpha_is_opaque() {
            self.channels - 1
        } else {
            self.channels
        }
    }

    /// CRC-32 of the pixel bytes (the checksum stored in the header).
    pub fn crc(&self) -> u32 {
        crc32fast::hash(&self.pixels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_alpha_round_trip() {
        let img = Image::new(2, 1, 4, vec![1, 2, 3, 255, 4, 5, 6, 255]).unwrap();
        assert!(img.alpha_is_opaque());
        assert_eq!(img.coded_channels(true), 3);
        assert_eq!(img.coded_channels(false), 4);
        let coded = img.without_alpha();
        assert_eq!(coded, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(Image::with_opaque_alpha(&coded, 3), img.pixels);
        let grey = Image::new(1, 1, 2, vec![9, 254]).unwrap();
        assert!(!grey.alpha_is_opaque());
        assert_eq!(grey.coded_channels(true), 2);
    }

    #[test]
    fn rejects_bad_layouts() {
        assert!(Image::new(1, 1, 5, vec![0; 5]).is_err());
        assert!(Image::new(0, 1, 1, vec![]).is_err());
        assert!(Image::new(2, 2, 3, vec![0; 11]).is_err());
    }
}

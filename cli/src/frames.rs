//! Inputs that hold more than one image (animated PNG and WebP, multi-page TIFF), told from
//! their chunks and directories without decoding, so that `compress` refuses them: the image
//! crate decodes only the first frame, and a lossless codec must not drop the others unasked.

use image::ImageFormat;

/// How many images `bytes` (an image file of `format`) holds, where it can hold several and
/// says so; None where it holds one, or its structure cannot be read (the decoder then reports
/// the damage).
pub fn count(bytes: &[u8], format: ImageFormat) -> Option<u64> {
    match format {
        ImageFormat::Png => png_frames(bytes),
        ImageFormat::WebP => webp_frames(bytes),
        ImageFormat::Tiff => tiff_pages(bytes),
        _ => None,
    }
}

/// What a file of `format` with `n` images is called ("an animated PNG of 3 frames").
pub fn describe(format: ImageFormat, n: u64) -> String {
    match format {
        ImageFormat::Tiff => format!("a TIFF of {n} pages"),
        ImageFormat::Png => format!("an animated PNG of {n} frames"),
        ImageFormat::WebP => format!("an animated WebP of {n} frames"),
        f => format!("{f:?} of {n} images"),
    }
}

fn u32_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// An APNG's frame count, from its `acTL` chunk (before the first `IDAT`).
fn png_frames(b: &[u8]) -> Option<u64> {
    let mut at = 8;
    loop {
        let len = u32_be(b, at)? as usize;
        // at + 4 is within `b`: no overflow.
        match b.get(at + 4..at + 8)? {
            b"acTL" => return u32_be(b, at + 8).map(u64::from),
            b"IDAT" | b"IEND" => return None,
            _ => at = at.checked_add(12)?.checked_add(len)?,
        }
    }
}

/// An animated WebP's frame count: its `ANMF` chunks, where the `VP8X` header flags animation.
fn webp_frames(b: &[u8]) -> Option<u64> {
    if b.get(12..16)? != b"VP8X" || b.get(20)? & 0x02 == 0 {
        return None;
    }
    let (mut at, mut frames) = (12usize, 0);
    while let Some(head) = at.checked_add(8).and_then(|end| b.get(at..end)) {
        let len = u32::from_le_bytes(head[4..].try_into().ok()?) as usize;
        frames += u64::from(&head[..4] == b"ANMF");
        // Chunks are padded to an even size.
        at = at.checked_add(8)?.checked_add(len)?.checked_add(len & 1)?;
    }
    Some(frames)
}

/// A TIFF's page count: its chain of image file directories (classic and BigTIFF), up to a
/// thousand (a loop in a damaged chain ends there).
fn tiff_pages(b: &[u8]) -> Option<u64> {
    let le = match b.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let uint = |at: usize, n: usize| -> Option<u64> {
        let s = b.get(at..at.checked_add(n)?)?;
        Some(s.iter().enumerate().fold(0u64, |v, (i, &x)| {
            let shift = 8 * if le { i } else { n - 1 - i };
            v | (x as u64) << shift
        }))
    };
    let big = match uint(2, 2)? {
        42 => false,
        43 => true,
        _ => return None,
    };
    let (mut ifd, mut pages) = (if big { uint(8, 8)? } else { uint(4, 4)? }, 0);
    while ifd != 0 && pages < 1000 {
        let at = usize::try_from(ifd).ok()?;
        let next = if big {
            let n = usize::try_from(uint(at, 8)?).ok()?;
            uint(at.checked_add(8)?.checked_add(n.checked_mul(20)?)?, 8)
        } else {
            let n = uint(at, 2)? as usize;
            uint(at + 2 + n * 12, 4)
        };
        pages += 1;
        ifd = next.unwrap_or(0);
    }
    Some(pages)
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;

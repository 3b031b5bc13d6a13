//! Tests of the frame counts ([`super`]) on hand-built chunk structures: the counts, still
//! images, and truncated or damaged structures that must not panic.

use super::*;

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    c.extend_from_slice(&[0; 4]); // the CRC is not read
    c
}

fn png(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    for (k, d) in chunks {
        b.extend(png_chunk(k, d));
    }
    b
}

#[test]
fn animated_png_frames_come_from_actl() {
    let ihdr: &[u8] = &[0; 13];
    let actl: &[u8] = &[0, 0, 0, 3, 0, 0, 0, 0];
    let b = png(&[(b"IHDR", ihdr), (b"acTL", actl), (b"IDAT", &[1, 2])]);
    assert_eq!(count(&b, ImageFormat::Png), Some(3));
    // acTL after the first IDAT does not count (the spec puts it before); a still PNG has none.
    let b = png(&[(b"IHDR", ihdr), (b"IDAT", &[1, 2]), (b"acTL", actl)]);
    assert_eq!(count(&b, ImageFormat::Png), None);
    assert_eq!(count(&png(&[(b"IHDR", ihdr), (b"IEND", &[])]), ImageFormat::Png), None);
    let full = png(&[(b"IHDR", ihdr), (b"acTL", actl)]);
    for n in 0..full.len() {
        let _ = count(&full[..n], ImageFormat::Png);
    }
    let mut huge = png(&[(b"IHDR", ihdr)]);
    huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(count(&huge, ImageFormat::Png), None);
}

fn webp(flags: u8, chunks: &[(&[u8; 4], usize)]) -> Vec<u8> {
    let mut b = b"RIFF\0\0\0\0WEBPVP8X".to_vec();
    b.extend_from_slice(&10u32.to_le_bytes());
    b.extend_from_slice(&[flags, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (k, len) in chunks {
        b.extend_from_slice(*k);
        b.extend_from_slice(&(*len as u32).to_le_bytes());
        b.extend(std::iter::repeat_n(7, len + len % 2));
    }
    b
}

#[test]
fn animated_webp_frames_are_its_anmf_chunks() {
    let anim = webp(0x02, &[(b"ANIM", 6), (b"ANMF", 31), (b"ANMF", 40)]);
    assert_eq!(count(&anim, ImageFormat::WebP), Some(2));
    // Without the animation flag, or without VP8X (a simple lossy or lossless file): one image.
    assert_eq!(count(&webp(0x10, &[(b"ANMF", 4)]), ImageFormat::WebP), None);
    assert_eq!(count(b"RIFF\0\0\0\0WEBPVP8L\x05\0\0\0abcde", ImageFormat::WebP), None);
    for n in 0..anim.len() {
        let _ = count(&anim[..n], ImageFormat::WebP);
    }
}

/// A classic TIFF (`big` false) or a BigTIFF whose directories chain `pages` times.
fn tiff(le: bool, big: bool, pages: usize) -> Vec<u8> {
    let put = |v: &mut Vec<u8>, x: u64, n: usize| {
        let bytes = x.to_le_bytes();
        let mut s = bytes[..n].to_vec();
        if !le {
            s.reverse();
        }
        v.extend(s);
    };
    let mut b: Vec<u8> = if le { b"II".to_vec() } else { b"MM".to_vec() };
    let (off, cnt, entry) = if big { (8, 8, 20) } else { (4, 2, 12) };
    put(&mut b, if big { 43 } else { 42 }, 2);
    if big {
        put(&mut b, 8, 2);
        put(&mut b, 0, 2);
    }
    let first = b.len() + off;
    put(&mut b, first as u64, off);
    for p in 0..pages {
        let entries = 1 + p % 2;
        put(&mut b, entries as u64, cnt);
        b.extend(std::iter::repeat_n(0, entries * entry));
        let next = if p + 1 == pages { 0 } else { b.len() + off };
        put(&mut b, next as u64, off);
    }
    b
}

#[test]
fn tiff_pages_follow_the_directory_chain() {
    for le in [true, false] {
        for big in [false, true] {
            for pages in 1..4 {
                let b = tiff(le, big, pages);
                assert_eq!(count(&b, ImageFormat::Tiff), Some(pages as u64), "le {le} big {big}");
                for n in 0..b.len() {
                    let _ = count(&b[..n], ImageFormat::Tiff);
                }
            }
        }
    }
    // A directory pointing at itself ends at a thousand pages instead of looping.
    let mut b = tiff(true, false, 1);
    let first = u32::from_le_bytes(b[4..8].try_into().unwrap());
    let at = b.len() - 4;
    b[at..].copy_from_slice(&first.to_le_bytes());
    assert_eq!(count(&b, ImageFormat::Tiff), Some(1000));
    assert_eq!(count(b"XX*\0", ImageFormat::Tiff), None);
}

#[test]
fn the_description_names_frames_or_pages() {
    assert_eq!(describe(ImageFormat::Png, 2), "an animated PNG of 2 frames");
    assert_eq!(describe(ImageFormat::Tiff, 3), "a TIFF of 3 pages");
}

//! File plumbing for the CLI: reading inputs (or stdin), image decoding and encoding, and atomic
//! writes that never leave a partial file and never overwrite without `-f`.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use image::codecs::png::PngEncoder;
use image::codecs::tiff::TiffEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ExtendedColorType, ImageEncoder, ImageFormat};
use pixelrnn_codec::{Image, MetaKind, Metadata};

use crate::metadata::Carried;

/// Largest input file read (the codec's own limits apply after parsing).
const MAX_INPUT: u64 = 4 << 30;

/// Reads a file, or stdin for `-`.
pub fn read_input(path: &str) -> Result<Vec<u8>> {
    if path == "-" {
        let mut v = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_INPUT)
            .read_to_end(&mut v)
            .context("reading stdin")?;
        return Ok(v);
    }
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot open {path}"))?
        .len();
    if len > MAX_INPUT {
        bail!("{path} is {len} bytes, more than the {MAX_INPUT}-byte input limit");
    }
    std::fs::read(path).with_context(|| format!("cannot read {path}"))
}

/// Decodes an image file (any format the image crate reads) into the codec's 8-bit layout, with
/// its format and what it carries beside its pixels (an ICC profile, EXIF).
pub fn decode_image(bytes: &[u8], name: &str, max_pixels: u64) -> Result<(Image, ImageFormat, Carried)> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .context("reading image header")?;
    let Some(format) = reader.format() else {
        bail!("{name}: not an image format pixelrnn can read (PNG, BMP, TIFF, PNM, TGA, QOI, WebP, JPEG)");
    };
    if let Some(n) = crate::frames::count(bytes, format).filter(|&n| n > 1) {
        bail!(
            "{name}: {}; pixelrnn codes one still image and would keep only the first of them: \
             save each as an image of its own",
            crate::frames::describe(format, n)
        );
    }
    let (w, h) = reader
        .into_dimensions()
        .with_context(|| format!("{name}: cannot read the image size"))?;
    if w as u64 * h as u64 > max_pixels {
        bail!("{name}: {w}×{h} is more than the {max_pixels}-pixel limit (raise it with --max-pixels)");
    }
    reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format()?;
    reader.no_limits();
    let mut decoder = reader
        .into_decoder()
        .with_context(|| format!("{name}: cannot decode the image"))?;
    let carried = Carried::of(&mut decoder);
    let img = DynamicImage::from_decoder(decoder).with_context(|| format!("{name}: cannot decode the image"))?;
    let (channels, pixels) = match img {
        DynamicImage::ImageLuma8(b) => (1, b.into_raw()),
        DynamicImage::ImageLumaA8(b) => (2, b.into_raw()),
        DynamicImage::ImageRgb8(b) => (3, b.into_raw()),
        DynamicImage::ImageRgba8(b) => (4, b.into_raw()),
        other => bail!(
            "{name}: {:?} pixels are not supported: pixelrnn codes 8-bit grey, grey+alpha, RGB and RGBA \
             (convert 16-bit or float images to 8 bits first, knowing that this loses precision)",
            other.color()
        ),
    };
    Ok((Image::new(w, h, channels, pixels)?, format, carried))
}

/// The image format to write for an output path: by extension, PNG for stdout.
pub fn output_format(path: &str) -> Result<ImageFormat> {
    if path == "-" {
        return Ok(ImageFormat::Png);
    }
    let fmt = ImageFormat::from_path(path).with_context(|| {
        format!("{path}: unknown image extension; use .png, .bmp, .tiff, .ppm/.pgm/.pam, .tga, .qoi or .webp")
    })?;
    if matches!(fmt, ImageFormat::Jpeg) {
        bail!("{path}: JPEG is lossy; decompress to a lossless format such as .png");
    }
    Ok(fmt)
}

/// Encodes decoded pixels into an image file in memory, with the `metadata` its format has room
/// for; the entries it has none for come back.
pub fn encode_image(
    img: &Image,
    fmt: ImageFormat,
    name: &str,
    metadata: &[Metadata],
) -> Result<(Vec<u8>, Vec<Metadata>)> {
    let mut out = std::io::Cursor::new(Vec::new());
    let dynamic = to_dynamic(img);
    let (w, h, colour) = (img.width, img.height, dynamic.color().into());
    // The entries `enc` takes, the others left out; then the image.
    fn with<E: ImageEncoder>(
        mut enc: E,
        metadata: &[Metadata],
        left: &mut Vec<Metadata>,
        image: (&[u8], u32, u32, ExtendedColorType),
    ) -> image::ImageResult<()> {
        for m in metadata {
            let took = match m.kind {
                MetaKind::Icc => enc.set_icc_profile(m.data.clone()),
                MetaKind::Exif => enc.set_exif_metadata(m.data.clone()),
            };
            if took.is_err() {
                left.push(m.clone());
            }
        }
        enc.write_image(image.0, image.1, image.2, image.3)
    }
    let mut left = Vec::new();
    let px = (dynamic.as_bytes(), w, h, colour);
    let written = match fmt {
        _ if metadata.is_empty() => dynamic.write_to(&mut out, fmt),
        ImageFormat::Png => with(PngEncoder::new(&mut out), metadata, &mut left, px),
        ImageFormat::WebP => with(WebPEncoder::new_lossless(&mut out), metadata, &mut left, px),
        ImageFormat::Tiff => with(TiffEncoder::new(&mut out), metadata, &mut left, px),
        _ => {
            left.extend_from_slice(metadata);
            dynamic.write_to(&mut out, fmt)
        }
    };
    written.with_context(|| {
        format!(
            "{name}: the {fmt:?} encoder cannot store this {}-channel image; try .png",
            img.channels
        )
    })?;
    Ok((out.into_inner(), left))
}

/// The codec's image as an image-crate image (the inverse of [`decode_image`]'s conversion).
pub fn to_dynamic(img: &Image) -> DynamicImage {
    let (w, h, px) = (img.width, img.height, img.pixels.clone());
    match img.channels {
        1 => DynamicImage::ImageLuma8(image::GrayImage::from_raw(w, h, px).expect("sizes match")),
        2 => DynamicImage::ImageLumaA8(image::GrayAlphaImage::from_raw(w, h, px).expect("sizes match")),
        3 => DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, px).expect("sizes match")),
        _ => DynamicImage::ImageRgba8(image::RgbaImage::from_raw(w, h, px).expect("sizes match")),
    }
}

/// Worker threads: the given number, or every core.
pub fn threads(requested: Option<usize>) -> usize {
    requested.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Checks, before any work, that `out` may be written: not the input, not an existing file
/// unless `force`.
pub fn check_output(input: &str, out: &str, force: bool) -> Result<()> {
    if out == "-" {
        return to_stdout_allowed(force);
    }
    if input != "-" {
        if let (Ok(a), Ok(b)) = (Path::new(input).canonicalize(), Path::new(out).canonicalize()) {
            if a == b {
                bail!("{out} is the input file; choose another output with -o");
            }
        }
    }
    if !force && Path::new(out).exists() {
        bail!("{out} already exists; use -f to overwrite it");
    }
    Ok(())
}

/// Writes `bytes` to `out` (stdout for `-`) through a temporary file in the same directory and
/// a rename, so that a failure leaves neither a partial file nor a clobbered one. The file gets
/// the permissions a plain create would give it: those of the file it replaces (with `-f`),
/// else read and write for all that the umask allows (a temporary file alone would be 0600).
pub fn write_atomic(out: &str, bytes: &[u8], force: bool) -> Result<()> {
    if out == "-" {
        to_stdout_allowed(force)?;
        let mut so = std::io::stdout().lock();
        so.write_all(bytes).context("writing to stdout")?;
        return so.flush().context("writing to stdout");
    }
    let path = PathBuf::from(out);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".pixelrnn-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // open(2) applies the umask to this mode, as it does for any file a program creates.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    if force {
        if let Ok(old) = std::fs::metadata(&path) {
            tmp.as_file()
                .set_permissions(replaced_permissions(old.permissions()))
                .with_context(|| format!("cannot give {out} the permissions of the file it replaces"))?;
        }
    }
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .with_context(|| format!("writing {out}"))?;
    if force {
        tmp.persist(&path)
            .with_context(|| format!("cannot move the output into place at {out}"))?;
    } else {
        tmp.persist_noclobber(&path)
            .map_err(|e| anyhow::anyhow!("{out} already exists; use -f to overwrite it ({})", e.error))?;
    }
    Ok(())
}

/// Binary output goes to stdout only where it is not a terminal, unless `force` (as gzip and
/// zstd do): a `-o -` typed at a prompt would fill the screen with bytes.
fn to_stdout_allowed(force: bool) -> Result<()> {
    if !force && std::io::stdout().is_terminal() {
        bail!("not writing binary data to a terminal: redirect stdout to a file or a pipe, or use -f");
    }
    Ok(())
}

/// The permissions of a file written over one with `old`: its read, write and execute bits
/// (not set-user-ID and the like, which `cp` does not carry over either).
fn replaced_permissions(old: std::fs::Permissions) -> std::fs::Permissions {
    #[cfg(unix)]
    let old = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(old.mode() & 0o777)
    };
    old
}

/// Default output of `compress`: the input name plus `.prnn`.
pub fn compressed_name(input: &str) -> String {
    format!("{input}.prnn")
}

/// Default output of `decompress`: strip `.prnn`; keep the remaining image extension or add `.png`.
pub fn decompressed_name(input: &str) -> String {
    let stem = input.strip_suffix(".prnn").unwrap_or(input);
    if stem != input && ImageFormat::from_path(stem).is_ok_and(|f| f != ImageFormat::Jpeg) {
        stem.to_string()
    } else {
        format!("{stem}.png")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names() {
        assert_eq!(compressed_name("a/photo.png"), "a/photo.png.prnn");
        assert_eq!(decompressed_name("a/photo.png.prnn"), "a/photo.png");
        assert_eq!(decompressed_name("photo.prnn"), "photo.png");
        assert_eq!(decompressed_name("photo.jpg.prnn"), "photo.jpg.png");
        assert_eq!(decompressed_name("photo.bin"), "photo.bin.png");
    }
}

//! End-to-end tests of what `compress` makes of its inputs: files that hold several images
//! (animated PNG, multi-page TIFF) refused instead of losing all but the first, and the warning
//! where the .prnn file comes out larger than its input (a JPEG).

mod common;

use common::{assert_files, pixels, run, stderr};

fn rgb(w: u32, h: u32, shift: u32) -> Vec<u8> {
    (0..w * h * 3)
        .map(|i| ((i / 3 % w) * 5 + (i / 3 / w) * 3 + i % 3 * 40 + shift) as u8)
        .collect()
}

fn apng(frames: u32, w: u32, h: u32) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut enc = png::Encoder::new(&mut buf, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_animated(frames, 0).unwrap();
    let mut wr = enc.write_header().unwrap();
    for f in 0..frames {
        wr.write_image_data(&rgb(w, h, 7 * f)).unwrap();
    }
    wr.finish().unwrap();
    buf
}

fn tiff(pages: u32, w: u32, h: u32) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut enc = tiff::encoder::TiffEncoder::new(&mut buf).unwrap();
    for p in 0..pages {
        enc.write_image::<tiff::encoder::colortype::RGB8>(w, h, &rgb(w, h, 11 * p))
            .unwrap();
    }
    buf.into_inner()
}

/// An animated PNG or a multi-page TIFF is refused with a message that says what it holds, and
/// nothing is written; the same formats with one image compress and decode.
#[test]
fn several_images_in_one_file_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let (w, h) = (12, 9);
    std::fs::write(d.path().join("anim.png"), apng(3, w, h)).unwrap();
    std::fs::write(d.path().join("pages.tiff"), tiff(2, w, h)).unwrap();
    std::fs::write(d.path().join("one.png"), apng(1, w, h)).unwrap();
    std::fs::write(d.path().join("one.tiff"), tiff(1, w, h)).unwrap();
    for (f, what) in [
        ("anim.png", "an animated PNG of 3 frames"),
        ("pages.tiff", "a TIFF of 2 pages"),
    ] {
        let o = run(d.path(), &["compress", f]);
        assert!(!o.status.success(), "{f}");
        assert!(
            stderr(&o).contains(what) && stderr(&o).contains("only the first"),
            "{}",
            stderr(&o)
        );
    }
    assert_files(d.path(), &["anim.png", "one.png", "one.tiff", "pages.tiff"]);
    for f in ["one.png", "one.tiff"] {
        let o = run(d.path(), &["compress", f, "-o", "x.prnn", "-f"]);
        assert!(o.status.success(), "{f}: {}", stderr(&o));
        assert!(run(d.path(), &["decompress", "x.prnn", "-o", "x.png", "-f"])
            .status
            .success());
        assert_eq!(pixels(&d.path().join("x.png")), (w, h, rgb(w, h, 0)), "{f}");
    }
}

/// A .prnn file larger than its input (a JPEG's decoded pixels, kept exactly) gets a warning
/// that says so; `-q` and `--json` (which gives `input_bytes`) print none, and a PNG that
/// shrinks gets none.
#[test]
fn warns_when_the_file_grows() {
    let d = tempfile::tempdir().unwrap();
    let (w, h) = (48, 40);
    let px: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i / 3 % w) * 5 + (i / 3 / w) * 3 + i % 3 * 40) as u8)
        .collect();
    image::save_buffer_with_format(
        d.path().join("a.jpg"),
        &px,
        w,
        h,
        image::ExtendedColorType::Rgb8,
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let jpeg = std::fs::metadata(d.path().join("a.jpg")).unwrap().len();
    let o = run(d.path(), &["compress", "a.jpg"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let prnn = std::fs::metadata(d.path().join("a.jpg.prnn")).unwrap().len();
    assert!(
        prnn > jpeg,
        "the test needs a JPEG smaller than its lossless coding ({prnn} vs {jpeg})"
    );
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "warning: a.jpg.prnn ({prnn} bytes) is larger than a.jpg ({jpeg} bytes)"
        )),
        "{e}"
    );
    assert!(e.contains("JPEG is lossy"), "{e}");
    let o = run(d.path(), &["compress", "-f", "-q", "a.jpg"]);
    assert!(o.status.success() && o.stderr.is_empty(), "{}", stderr(&o));
    let o = run(d.path(), &["--json", "compress", "-f", "a.jpg"]);
    assert!(o.status.success() && !stderr(&o).contains("warning"), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["input_bytes"], jpeg);
    assert_eq!(v["prnn_bytes"], prnn);
    // A smooth PNG shrinks: no warning.
    image::save_buffer(d.path().join("b.png"), &px, w, h, image::ExtendedColorType::Rgb8).unwrap();
    let o = run(d.path(), &["compress", "b.png"]);
    assert!(o.status.success() && !stderr(&o).contains("warning"), "{}", stderr(&o));
}

/// An ICC profile of one `desc` tag naming `text`.
fn icc(text: &str) -> Vec<u8> {
    let mut p = vec![0u8; 128];
    p.extend_from_slice(&1u32.to_be_bytes());
    p.extend_from_slice(b"desc");
    p.extend_from_slice(&144u32.to_be_bytes());
    p.extend_from_slice(&(8 + text.len() as u32).to_be_bytes());
    p.extend_from_slice(b"desc\0\0\0\0");
    p.extend_from_slice(text.as_bytes());
    p
}

/// EXIF (big-endian TIFF structure) whose one tag is the orientation `o`.
fn exif_orientation(o: u16) -> Vec<u8> {
    let mut e = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    e.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    e.extend_from_slice(&o.to_be_bytes());
    e.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    e
}

fn png_with(name: &std::path::Path, icc: Option<Vec<u8>>, exif: Option<Vec<u8>>) {
    use image::ImageEncoder;
    let (w, h) = (10, 8);
    let mut enc = image::codecs::png::PngEncoder::new(std::fs::File::create(name).unwrap());
    if let Some(p) = icc {
        enc.set_icc_profile(p).unwrap();
    }
    if let Some(e) = exif {
        enc.set_exif_metadata(e).unwrap();
    }
    enc.write_image(&rgb(w, h, 0), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
}

/// The image's ICC profile and EXIF data of `png` (as the image crate reads them).
fn carried(png: &std::path::Path) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    use image::ImageDecoder;
    let mut dec =
        image::codecs::png::PngDecoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap())).unwrap();
    (dec.icc_profile().unwrap(), dec.exif_metadata().unwrap())
}

/// The default (format version 12) keeps the ICC profile and the EXIF data: `info` shows them
/// and `decompress` writes them into the PNG, byte for byte. A format without room for them
/// (BMP), or `--format-version 11`, leaves them out with a warning that names what changes how
/// the image is shown (a profile other than sRGB's, an orientation that rotates), also in
/// `--json`'s `not_kept`; an sRGB profile and the upright orientation left out are not named.
#[test]
fn metadata_is_kept_or_named() {
    let d = tempfile::tempdir().unwrap();
    let (p3, rot) = (icc("Display P3"), exif_orientation(6));
    png_with(&d.path().join("p3.png"), Some(p3.clone()), Some(rot.clone()));
    png_with(
        &d.path().join("srgb.png"),
        Some(icc("sRGB IEC61966-2.1")),
        Some(exif_orientation(1)),
    );
    let o = run(d.path(), &["compress", "p3.png"]);
    assert!(o.status.success() && !stderr(&o).contains("warning"), "{}", stderr(&o));
    let info = String::from_utf8_lossy(&run(d.path(), &["info", "p3.png.prnn"]).stdout).into_owned();
    assert!(
        info.contains(&format!(
            "metadata         ICC profile ({} bytes), EXIF ({} bytes)",
            p3.len(),
            rot.len()
        )),
        "{info}"
    );
    let o = run(d.path(), &["info", "--json", "p3.png.prnn"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["metadata"],
        serde_json::json!([{"kind": "icc_profile", "bytes": p3.len()}, {"kind": "exif", "bytes": rot.len()}])
    );
    let o = run(d.path(), &["decompress", "p3.png.prnn", "-o", "back.png"]);
    assert!(o.status.success() && !stderr(&o).contains("warning"), "{}", stderr(&o));
    assert_eq!(
        carried(&d.path().join("back.png")),
        (Some(p3.clone()), Some(rot.clone()))
    );
    assert_eq!(pixels(&d.path().join("back.png")), pixels(&d.path().join("p3.png")));
    // A BMP has no room for them.
    let o = run(d.path(), &["decompress", "p3.png.prnn", "-o", "back.bmp"]);
    let e = stderr(&o);
    assert!(
        o.status.success() && e.contains("back.bmp leaves out the ICC colour profile"),
        "{e}"
    );
    assert!(e.contains("back.bmp leaves out the EXIF orientation"), "{e}");
    // Version 11 has no room for them.
    let o = run(
        d.path(),
        &["compress", "--format-version", "11", "p3.png", "-o", "v11.prnn"],
    );
    let e = stderr(&o);
    assert!(
        o.status.success() && e.contains("warning: v11.prnn leaves out the ICC colour profile"),
        "{e}"
    );
    assert!(e.contains("(format version 11 has no room for it; 12 keeps it)"), "{e}");
    assert!(e.contains("v11.prnn leaves out the EXIF orientation"), "{e}");
    let o = run(
        d.path(),
        &[
            "--json",
            "compress",
            "-f",
            "--format-version",
            "11",
            "p3.png",
            "-o",
            "v11.prnn",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["not_kept"], serde_json::json!(["icc_profile", "exif_orientation"]));
    let o = run(d.path(), &["--json", "compress", "srgb.png"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["metadata"], serde_json::json!(["icc_profile", "exif"]), "{v}");
    let o = run(
        d.path(),
        &["compress", "--format-version", "11", "srgb.png", "-o", "s11.prnn"],
    );
    assert!(o.status.success() && !stderr(&o).contains("warning"), "{}", stderr(&o));
}

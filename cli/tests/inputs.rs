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

/// A colour profile other than sRGB's and an EXIF orientation that rotates are named in a
/// warning and in `--json`'s `not_kept`; an sRGB profile and the upright orientation are not.
#[test]
fn what_the_file_does_not_keep_is_named() {
    let d = tempfile::tempdir().unwrap();
    png_with(
        &d.path().join("p3.png"),
        Some(icc("Display P3")),
        Some(exif_orientation(6)),
    );
    png_with(
        &d.path().join("srgb.png"),
        Some(icc("sRGB IEC61966-2.1")),
        Some(exif_orientation(1)),
    );
    let o = run(d.path(), &["compress", "p3.png"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("warning: p3.png carries an ICC colour profile"), "{e}");
    assert!(
        e.contains("warning: p3.png asks (EXIF orientation) to be shown rotated"),
        "{e}"
    );
    let o = run(d.path(), &["--json", "compress", "-f", "p3.png"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["not_kept"], serde_json::json!(["icc_profile", "exif_orientation"]));
    let o = run(d.path(), &["compress", "srgb.png"]);
    assert!(o.status.success() && !stderr(&o).contains("warning"), "{}", stderr(&o));
    let o = run(d.path(), &["--json", "compress", "-f", "srgb.png"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("not_kept").is_none(), "{v}");
}

//! End-to-end tests of the codings' options of the `pixelrnn` binary: `--substreams`, the
//! context coding (`--mode context`) and the model coding's phase stages, each written, shown by
//! `info` and decoded.

mod common;

use common::{info_says_and_decodes, pixels, run, stderr, write_png};

#[test]
fn substreams_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "s.png", 9, 11, 3);
    let substreams = |file: &str| {
        let o = run(d.path(), &["info", "--json", file]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["substreams"].as_u64()
    };
    for (asked, got) in [("3", 3), ("64", 11)] {
        let o = run(
            d.path(),
            &["compress", "-f", "--mode", "model", "--substreams", asked, "s.png"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(substreams("s.png.prnn"), Some(got), "--substreams {asked}");
        let o = run(
            d.path(),
            &["decompress", "-f", "s.png.prnn", "-o", "back.png", "--threads", "2"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(pixels(&d.path().join("s.png")), pixels(&d.path().join("back.png")));
    }
    let o = run(d.path(), &["info", "s.png.prnn"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("decodes on up to 11 threads"));
    let o = run(d.path(), &["compress", "-f", "--mode", "model", "s.png"]);
    assert!(o.status.success());
    assert_eq!(substreams("s.png.prnn"), Some(1), "the default for 11 rows");
    let o = run(d.path(), &["info", "s.png.prnn"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("substreams       1 (decodes on one thread)"));
    let o = run(
        d.path(),
        &["compress", "-f", "--mode", "classical", "--substreams", "4", "s.png"],
    );
    assert!(o.status.success());
    assert_eq!(substreams("s.png.prnn"), None, "the classical coding has none");
    for bad in ["0", "65"] {
        let o = run(
            d.path(),
            &["compress", "-f", "--substreams", bad, "s.png", "-o", "bad.prnn"],
        );
        assert!(
            !o.status.success() && stderr(&o).contains("--substreams"),
            "{}",
            stderr(&o)
        );
    }
    assert!(!d.path().join("bad.prnn").exists());
}

#[test]
fn context_coding_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "c.png", 12, 9, 3);
    let o = run(d.path(), &["compress", "--json", "--mode", "context", "c.png"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mode"], "context", "{v}");
    // No model is needed to decode it.
    info_says_and_decodes(d.path(), "c.png.prnn", "context", ("c.png", "c2.png"));
    // Older format versions have no context coding: a clear error, and no file.
    let o = run(
        d.path(),
        &[
            "compress",
            "--mode",
            "context",
            "--format-version",
            "5",
            "c.png",
            "-o",
            "c5.prnn",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("format version 6"), "{}", stderr(&o));
    assert!(!d.path().join("c5.prnn").exists());
}

/// A grey image whose noise depends on the pixel's phase (y mod 2, x mod 2): the default
/// (format version 12) keeps the context stage per phase and codes through the binary stage,
/// `info` says so, it decodes exactly; version 10 writes the same stages and decodes; version 9 writes the phase stages alone, version 8 a
/// larger file without them.
#[test]
fn phase_stages_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let (w, h) = (96u32, 96u32);
    let mut seed = 0x9e37_79b9_u32;
    let mut next = move |n: u32| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed % n
    };
    let px: Vec<u8> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let base = 60 + (x / 8 + y / 8) * 4;
            let v = match (y % 2) * 2 + x % 2 {
                0 => base,
                1 => base + 9 + next(2),
                2 => base + next(8),
                _ => base + 20 + next(3) * 4,
            };
            v.min(255) as u8
        })
        .collect();
    image::save_buffer(d.path().join("p.png"), &px, w, h, image::ExtendedColorType::L8).unwrap();
    let o = run(d.path(), &["compress", "p.png"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(d.path(), &["info", "--json", "p.png.prnn"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (&v["version"], &v["adaptive"], &v["phases"]),
        (&12.into(), &true.into(), &true.into()),
        "{v}"
    );
    info_says_and_decodes(d.path(), "p.png.prnn", "per pixel phase", ("p.png", "p2.png"));
    let says = |prnn: &str, text: &str| String::from_utf8_lossy(&run(d.path(), &["info", prnn]).stdout).contains(text);
    assert!(says("p.png.prnn", "binary stage"));
    // An older version written with --format-version: its `info --json`.
    let older = |version: &str, out: &str| {
        let o = run(d.path(), &["compress", "--format-version", version, "p.png", "-o", out]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run(d.path(), &["info", "--json", out]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    // Version 10: the same stages, the bias learnt per texture alone.
    let v = older("10", "p10.prnn");
    assert_eq!((&v["version"], &v["phases"]), (&10.into(), &true.into()), "{v}");
    info_says_and_decodes(d.path(), "p10.prnn", "per pixel phase", ("p.png", "p4.png"));
    assert!(says("p10.prnn", "binary stage"));
    // Version 9: the phase stages without the binary stage.
    let v = older("9", "p9.prnn");
    assert_eq!((&v["version"], &v["phases"]), (&9.into(), &true.into()), "{v}");
    info_says_and_decodes(d.path(), "p9.prnn", "per pixel phase", ("p.png", "p3.png"));
    assert!(!says("p9.prnn", "binary stage"));
    let v = older("8", "p8.prnn");
    assert!(v.get("phases").is_none(), "{v}");
    let size = |f: &str| std::fs::metadata(d.path().join(f)).unwrap().len();
    assert!(
        size("p.png.prnn") < size("p8.prnn"),
        "{} / {}",
        size("p.png.prnn"),
        size("p8.prnn")
    );
}

//! End-to-end tests of the `pixelrnn` binary: round-trips, overwrite safety, streams, JSON and
//! bad input (non-zero exit, a clear message, no output file left behind).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_pixelrnn");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().expect("runs")
}

fn run_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_png(dir: &Path, name: &str, w: u32, h: u32, c: u8) -> PathBuf {
    let px: Vec<u8> = (0..w * h * c as u32).map(|i| (i * 37 % 251) as u8).collect();
    let p = dir.join(name);
    let color = [
        image::ExtendedColorType::L8,
        image::ExtendedColorType::La8,
        image::ExtendedColorType::Rgb8,
        image::ExtendedColorType::Rgba8,
    ][c as usize - 1];
    image::save_buffer(&p, &px, w, h, color).unwrap();
    p
}

fn pixels(p: &Path) -> (u32, u32, Vec<u8>) {
    let img = image::open(p).unwrap();
    (img.width(), img.height(), img.into_bytes())
}

/// Only the named files exist in `dir` (no temporary or partial files).
fn assert_files(dir: &Path, want: &[&str]) {
    let mut got: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn round_trip_every_layout() {
    let d = tempfile::tempdir().unwrap();
    for c in 1..=4u8 {
        let name = format!("img{c}.png");
        write_png(d.path(), &name, 13, 7, c);
        let o = run(d.path(), &["compress", &name]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("bits/sub-pixel"));
        let out = format!("back{c}.png");
        let o = run(d.path(), &["decompress", &format!("{name}.prnn"), "-o", &out]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(pixels(&d.path().join(&name)), pixels(&d.path().join(&out)));
    }
}

/// `--substreams` sets how many threads the file decodes on (`info` shows it), at most one a
/// row; out-of-range values are usage errors.
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
    assert!(String::from_utf8_lossy(&o.stdout).contains("decodes on up to 11 thread(s)"));
    let o = run(d.path(), &["compress", "-f", "--mode", "model", "s.png"]);
    assert!(o.status.success());
    assert_eq!(substreams("s.png.prnn"), Some(1), "the default for 11 rows");
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
fn refuses_to_overwrite_without_force() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "a.png", 5, 5, 3);
    assert!(run(d.path(), &["compress", "a.png"]).status.success());
    let before = std::fs::read(d.path().join("a.png.prnn")).unwrap();
    let o = run(d.path(), &["compress", "a.png"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("-f"), "{}", stderr(&o));
    // Decompressing next to the original must not clobber it either.
    let o = run(d.path(), &["decompress", "a.png.prnn"]);
    assert!(!o.status.success() && stderr(&o).contains("already exists"));
    let o = run(d.path(), &["compress", "a.png", "-o", "a.png", "-f"]);
    assert!(!o.status.success() && stderr(&o).contains("input"), "{}", stderr(&o));
    assert!(run(d.path(), &["compress", "-f", "a.png"]).status.success());
    assert_eq!(before, std::fs::read(d.path().join("a.png.prnn")).unwrap());
    assert_files(d.path(), &["a.png", "a.png.prnn"]);
}

#[test]
fn streams_through_stdin_and_stdout() {
    let d = tempfile::tempdir().unwrap();
    let p = write_png(d.path(), "s.png", 6, 4, 3);
    let png = std::fs::read(&p).unwrap();
    let c = run_stdin(d.path(), &["compress", "-"], &png);
    assert!(c.status.success(), "{}", stderr(&c));
    assert_eq!(&c.stdout[..5], b"\x89PRNN");
    let back = run_stdin(d.path(), &["decompress", "-", "-o", "-"], &c.stdout);
    assert!(back.status.success(), "{}", stderr(&back));
    let img = image::load_from_memory(&back.stdout).unwrap();
    assert_eq!(img.into_bytes(), pixels(&p).2);
    assert_files(d.path(), &["s.png"]);
}

#[test]
fn json_and_info() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "j.png", 8, 8, 4);
    let o = run(d.path(), &["compress", "--json", "--mode", "model", "j.png"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["width"], 8);
    assert_eq!(v["channels"], 4);
    assert!(v["bits_per_subpixel"].as_f64().unwrap() > 0.0);
    let o = run(d.path(), &["info", "--json", "j.png.prnn"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["height"], 8);
    assert_eq!(v["levels"], 256);
    assert_eq!(v["version"], 7);
    assert_eq!(v["mode"], "model");
    let o = run(d.path(), &["info", "j.png.prnn"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("built-in model #6")
            && out.contains("#3 for the colour, #4 for the alpha")
            && out.contains("the default"),
        "{out}"
    );
    // A flat image keeps a coding that needs no model (classical or context: both cost a few
    // bytes).
    let flat = vec![9u8; 20 * 10 * 3];
    image::save_buffer(d.path().join("flat.png"), &flat, 20, 10, image::ExtendedColorType::Rgb8).unwrap();
    let o = run(d.path(), &["compress", "--json", "flat.png"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["mode"] == "classical" || v["mode"] == "context", "{v}");
    assert!(v["prnn_bytes"].as_u64().unwrap() < 40, "{v}");
    let o = run(d.path(), &["info", "flat.png.prnn"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("model            none"));
    let o = run(
        d.path(),
        &[
            "decompress",
            "flat.png.prnn",
            "-o",
            "flat2.png",
            "--model",
            "missing.safetensors",
        ],
    );
    assert!(!o.status.success(), "a named model must exist even when unused");
    let o = run(d.path(), &["decompress", "flat.png.prnn", "-o", "flat2.png"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(pixels(&d.path().join("flat.png")), pixels(&d.path().join("flat2.png")));
}

#[test]
fn context_coding_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "c.png", 12, 9, 3);
    let o = run(d.path(), &["compress", "--json", "--mode", "context", "c.png"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mode"], "context", "{v}");
    let o = run(d.path(), &["info", "c.png.prnn"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("context"));
    // No model is needed to decode it.
    let o = run(d.path(), &["decompress", "c.png.prnn", "-o", "c2.png"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(pixels(&d.path().join("c.png")), pixels(&d.path().join("c2.png")));
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

#[test]
fn bad_inputs_fail_cleanly() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "b.png", 9, 6, 3);
    // Version 1 files (the 80-byte header) and version 2 (compact) files.
    let v1 = ["compress", "b.png", "--mode", "model", "--format-version", "1"];
    assert!(run(d.path(), &v1).status.success());
    let good = std::fs::read(d.path().join("b.png.prnn")).unwrap();
    assert!(run(d.path(), &["compress", "b.png", "-o", "b2.prnn"]).status.success());
    let good2 = std::fs::read(d.path().join("b2.prnn")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("trunc.prnn", good[..good.len() - 3].to_vec(), "truncated"),
        ("short.prnn", good[..30].to_vec(), "truncated"),
        ("magic.prnn", [b"GIF89a".as_slice(), &good[6..]].concat(), "magic"),
        ("version.prnn", [&good[..8], &[7u8], &good[9..]].concat(), "version 7"),
        (
            "header.prnn",
            {
                let mut g = good.clone();
                g[17] ^= 4;
                g
            },
            "CRC",
        ),
        (
            "payload.prnn",
            {
                let mut g = good.clone();
                let n = g.len();
                g[n - 9] ^= 0x55;
                g
            },
            "corrupt",
        ),
        ("empty.prnn", Vec::new(), "magic"),
        ("trunc2.prnn", good2[..good2.len() - 3].to_vec(), "truncated"),
        ("short2.prnn", good2[..12].to_vec(), "truncated"),
        (
            "version2.prnn",
            [&good2[..5], &[8u8], &good2[6..]].concat(),
            "version 8",
        ),
        (
            "header2.prnn",
            {
                let mut g = good2.clone();
                g[9] ^= 4;
                g
            },
            "header check",
        ),
    ];
    for (name, bytes, msg) in &cases {
        std::fs::write(d.path().join(name), bytes).unwrap();
        let o = run(d.path(), &["decompress", name, "-o", "out.png"]);
        assert!(!o.status.success(), "{name} decoded");
        assert!(stderr(&o).contains(msg), "{name}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{name}");
        assert!(!d.path().join("out.png").exists(), "{name} left an output file");
    }
    // A model that is not the one the file was written with.
    let o = run(
        d.path(),
        &[
            "decompress",
            "b.png.prnn",
            "-o",
            "out.png",
            "--model",
            "nonexistent.safetensors",
        ],
    );
    assert!(!o.status.success() && stderr(&o).contains("nonexistent"));
    // Not an image.
    std::fs::write(d.path().join("text.png"), b"hello").unwrap();
    let o = run(d.path(), &["compress", "text.png"]);
    assert!(!o.status.success() && stderr(&o).contains("text.png"), "{}", stderr(&o));
    assert!(!d.path().join("text.png.prnn").exists());
    // 16-bit input is refused with a clear message.
    let px16: Vec<u8> = vec![1; 4 * 4 * 3 * 2];
    image::save_buffer(d.path().join("deep.png"), &px16, 4, 4, image::ExtendedColorType::Rgb16).unwrap();
    let o = run(d.path(), &["compress", "deep.png"]);
    assert!(!o.status.success() && stderr(&o).contains("8-bit"), "{}", stderr(&o));
    // Many inputs: keep going past the bad one, fail overall.
    let o = run(d.path(), &["compress", "text.png", "b.png", "-f"]);
    assert!(
        !o.status.success() && stderr(&o).contains("1 of 2 inputs failed"),
        "{}",
        stderr(&o)
    );
    let mut names: Vec<&str> = cases.iter().map(|c| c.0).collect();
    names.extend(["b.png", "b.png.prnn", "b2.prnn", "text.png", "deep.png"]);
    assert_files(d.path(), &names);
}

#[test]
fn model_flag_uses_a_weight_file() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "m.png", 7, 5, 1);
    let w = pixelrnn_model::Weights::random(&pixelrnn_model::Config::pixel_cnn(1, 4, 1, 8), 3).unwrap();
    w.save(&d.path().join("grey.safetensors")).unwrap();
    let o = run(
        d.path(),
        &["compress", "m.png", "--model", "grey.safetensors", "--mode", "model"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Without the model the decoder names the one it needs.
    let o = run(d.path(), &["decompress", "m.png.prnn", "-o", "x.png"]);
    assert!(!o.status.success() && stderr(&o).contains("--model"), "{}", stderr(&o));
    let o = run(
        d.path(),
        &["decompress", "m.png.prnn", "-o", "x.png", "--model", "grey.safetensors"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(pixels(&d.path().join("m.png")), pixels(&d.path().join("x.png")));
    // An RGB model on a grey image is refused.
    write_png(d.path(), "rgb.png", 3, 3, 3);
    let o = run(d.path(), &["compress", "rgb.png", "--model", "grey.safetensors"]);
    assert!(!o.status.success() && stderr(&o).contains("channel"));
}

#[test]
fn the_colour_of_images_with_alpha_is_coded_with_the_colour_model() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "a.png", 9, 7, 4);
    write_png(d.path(), "ga.png", 9, 7, 2);
    let info = |file: &str| String::from_utf8_lossy(&run(d.path(), &["info", file]).stdout).into_owned();
    let round_trip = |png: &str, prnn: &str, extra: &[&str]| {
        let mut args = vec!["compress", png, "-o", prnn, "--mode", "model"];
        args.extend(extra);
        let o = run(d.path(), &args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let back = format!("{prnn}.png");
        let o = run(d.path(), &["decompress", prnn, "-o", &back]);
        assert!(o.status.success(), "{prnn}: {}", stderr(&o));
        assert_eq!(pixels(&d.path().join(png)), pixels(&d.path().join(&back)), "{prnn}");
    };
    // The defaults: the RGB (grey) default for the colour, the RGBA (grey+alpha) one for the
    // alpha, built-in #6 (#7), with or without the adaptive coding.
    round_trip("a.png", "a.prnn", &[]);
    let want = "built-in model #6 for 4 channel(s): #3 for the colour, #4 for the alpha, the default";
    assert!(info("a.prnn").contains(want), "{}", info("a.prnn"));
    round_trip("a.png", "plain.prnn", &["--no-adapt"]);
    assert!(info("plain.prnn").contains(want), "{}", info("plain.prnn"));
    round_trip("ga.png", "ga.prnn", &[]);
    let want = "built-in model #7 for 2 channel(s): #5 for the colour, #2 for the alpha";
    assert!(info("ga.prnn").contains(want), "{}", info("ga.prnn"));
    // For older readers: the model of every channel.
    round_trip("a.png", "v6.prnn", &["--format-version", "6"]);
    assert!(info("v6.prnn").contains("built-in model #4"), "{}", info("v6.prnn"));
    // A colour model given with --model: the file names the split, which decodes with it.
    let w = pixelrnn_model::Weights::random(&pixelrnn_model::Config::pixel_cnn(3, 4, 1, 8), 5).unwrap();
    w.save(&d.path().join("rgb.safetensors")).unwrap();
    let o = run(
        d.path(),
        &[
            "compress",
            "a.png",
            "-o",
            "m.prnn",
            "--mode",
            "model",
            "--model",
            "rgb.safetensors",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(d.path(), &["decompress", "m.prnn", "-o", "m.png"]);
    assert!(!o.status.success() && stderr(&o).contains("--model"), "{}", stderr(&o));
    let o = run(
        d.path(),
        &["decompress", "m.prnn", "-o", "m.png", "--model", "rgb.safetensors"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(pixels(&d.path().join("a.png")), pixels(&d.path().join("m.png")));
    // ... but not for older readers, which do not know splits.
    let args = [
        "compress",
        "a.png",
        "-o",
        "n.prnn",
        "--format-version",
        "6",
        "--model",
        "rgb.safetensors",
    ];
    let o = run(d.path(), &args);
    assert!(
        !o.status.success() && stderr(&o).contains("format version"),
        "{}",
        stderr(&o)
    );
    assert!(!d.path().join("n.prnn").exists());
}

#[test]
fn files_of_an_earlier_default_decode_without_the_model_flag() {
    // Built-in model #1 was the grey default before #5: files written with it, in a format that
    // names it by index (2 and later) or by id (1), still decode with no --model.
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "g.png", 9, 6, 1);
    let grey1 = concat!(env!("CARGO_MANIFEST_DIR"), "/../model/defaults/grey.safetensors");
    for v in ["1", "4", "5"] {
        let out = format!("g{v}.prnn");
        let o = run(
            d.path(),
            &[
                "compress",
                "g.png",
                "--model",
                grey1,
                "--mode",
                "model",
                "--format-version",
                v,
                "-o",
                &out,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let png = format!("g{v}.png");
        let o = run(d.path(), &["decompress", &out, "-o", &png]);
        assert!(o.status.success(), "version {v}: {}", stderr(&o));
        assert_eq!(pixels(&d.path().join("g.png")), pixels(&d.path().join(&png)));
        let o = run(d.path(), &["info", &out]);
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("built-in model #1"),
            "{:?}",
            o
        );
    }
}

#[test]
fn verify_decodes_before_writing() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "v.png", 6, 5, 4);
    let o = run(d.path(), &["compress", "--verify", "-v", "v.png"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("verified"), "{}", stderr(&o));
    assert!(d.path().join("v.png.prnn").exists());
}

#[test]
fn usage_errors_are_clear() {
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "a.png", 3, 3, 1);
    write_png(d.path(), "b.png", 3, 3, 1);
    let o = run(d.path(), &["compress", "a.png", "b.png", "-o", "x.prnn"]);
    assert!(!o.status.success() && stderr(&o).contains("single input"));
    let o = run(d.path(), &["compress", "-", "-"]);
    assert!(!o.status.success() && stderr(&o).contains("once"));
    assert!(run(d.path(), &["compress", "a.png"]).status.success());
    let o = run(d.path(), &["decompress", "a.png.prnn", "-o", "x.jpg"]);
    assert!(!o.status.success() && stderr(&o).contains("lossy"));
    let o = run(d.path(), &["decompress", "a.png.prnn", "-o", "x.unknownext"]);
    assert!(!o.status.success() && stderr(&o).contains("extension"));
    let o = run(
        d.path(),
        &["decompress", "a.png.prnn", "-o", "y.png", "--max-pixels", "8"],
    );
    assert!(
        !o.status.success() && stderr(&o).contains("--max-pixels"),
        "{}",
        stderr(&o)
    );
    let o = run(d.path(), &["compress", "b.png", "-o", "y.prnn", "--max-pixels", "8"]);
    assert!(
        !o.status.success() && stderr(&o).contains("--max-pixels"),
        "{}",
        stderr(&o)
    );
    assert_files(d.path(), &["a.png", "b.png", "a.png.prnn"]);
}

#[test]
fn sample_is_seeded_and_bench_reports() {
    let d = tempfile::tempdir().unwrap();
    for (out, seed) in [("a.png", "1"), ("b.png", "1"), ("c.png", "2")] {
        let o = run(
            d.path(),
            &[
                "sample",
                "-n",
                "4",
                "--size",
                "6x5",
                "--channels",
                "1",
                "--seed",
                seed,
                "-o",
                out,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (w, h, a) = pixels(&d.path().join("a.png"));
    assert_eq!((w, h), (12, 10));
    assert_eq!(a, pixels(&d.path().join("b.png")).2);
    assert_ne!(a, pixels(&d.path().join("c.png")).2);
    let o = run(d.path(), &["sample", "-n", "1", "--size", "2x2", "-o", "a.png"]);
    assert!(!o.status.success() && stderr(&o).contains("already exists"));

    write_png(d.path(), "p.png", 9, 8, 3);
    let o = run(d.path(), &["bench", "p.png", "--no-external", "--svg", "chart.svg"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("| total |") && table.contains("p.png"), "{table}");
    assert!(std::fs::read_to_string(d.path().join("chart.svg"))
        .unwrap()
        .contains("<svg"));
    let o = run(d.path(), &["bench", "--json", "--no-external", "p.png"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["total"]["verified"], true);
    assert!(v["images"][0]["png_bytes"].as_u64().unwrap() > 0);
}

//! End-to-end tests of the `pixelrnn` binary: round-trips, overwrite safety, streams, JSON and
//! bad input (non-zero exit, a clear message, no output file left behind). The models' side
//! (`--model`, alpha, earlier defaults, `sample` and `bench`) is in `models.rs`, the codings'
//! options (`--substreams`, `--mode context`, the phase stages) in `codings.rs`.

mod common;

use common::{assert_files, pixels, run, run_stdin, stderr, write_png};

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

/// Outputs get the permissions a plain create gives (the umask's), not a temporary file's 0600,
/// and `-f` keeps those of the file it replaces.
#[cfg(unix)]
#[test]
fn outputs_get_the_usual_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "a.png", 5, 4, 3);
    let mode = |f: &str| std::fs::metadata(d.path().join(f)).unwrap().permissions().mode() & 0o7777;
    let with_umask = |mask: &str, args: &str| {
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {mask} && exec \"$0\" {args}"))
            .arg(common::BIN)
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    };
    with_umask("022", "compress a.png");
    assert_eq!(mode("a.png.prnn"), 0o644);
    with_umask("027", "decompress a.png.prnn -o b.png");
    assert_eq!(mode("b.png"), 0o640);
    with_umask("077", "compress a.png -o c.prnn");
    assert_eq!(mode("c.prnn"), 0o600);
    // Overwriting keeps the permissions of the file replaced, whatever the umask.
    std::fs::set_permissions(d.path().join("a.png.prnn"), std::fs::Permissions::from_mode(0o604)).unwrap();
    with_umask("077", "compress -f a.png");
    assert_eq!(mode("a.png.prnn"), 0o604);
    assert_files(d.path(), &["a.png", "a.png.prnn", "b.png", "c.prnn"]);
}

/// Binary output is not written to a terminal (`script` gives the command one) unless `-f`.
#[cfg(unix)]
#[test]
fn refuses_binary_output_to_a_terminal() {
    let pty = std::process::Command::new("script")
        .args(["-qec", "true", "/dev/null"])
        .output();
    if !pty.is_ok_and(|o| o.status.success()) {
        eprintln!("script(1) cannot give a command a terminal here: skipped");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    write_png(d.path(), "a.png", 5, 4, 3);
    let on_terminal = |args: &str| {
        std::process::Command::new("script")
            .args(["-qec", &format!("'{}' {args}", common::BIN), "/dev/null"])
            .current_dir(d.path())
            .output()
            .unwrap()
    };
    let o = on_terminal("compress a.png -o -");
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{shown}");
    assert!(shown.contains("not writing binary data to a terminal"), "{shown}");
    assert!(run(d.path(), &["compress", "a.png"]).status.success());
    let o = on_terminal("decompress a.png.prnn -o -");
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stdout).contains("terminal"));
    assert!(on_terminal("decompress -f a.png.prnn -o -").status.success());
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
    assert_eq!(v["substreams"], 1, "{v}");
    // The one-line stats name the substreams too (model coding only).
    let o = run(
        d.path(),
        &["compress", "-f", "--mode", "model", "--substreams", "3", "j.png"],
    );
    assert!(stderr(&o).contains(", 3 substreams,"), "{}", stderr(&o));
    let o = run(d.path(), &["decompress", "--json", "j.png.prnn", "-o", "j2.png"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["substreams"], 3, "{v}");
    run(d.path(), &["compress", "-f", "--mode", "model", "j.png"]);
    let o = run(d.path(), &["info", "--json", "j.png.prnn"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["height"], 8);
    assert_eq!(v["levels"], 256);
    assert_eq!(v["version"], 12);
    assert_eq!(v["mode"], "model");
    assert_eq!((&v["substreams"], &v["lanes"]), (&1.into(), &8.into()), "{v}");
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
    assert!(
        v.get("substreams").is_none(),
        "no substreams without the model coding: {v}"
    );
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
            // 13 is never a version: byte 5 = 0D is version 1's magic.
            [&good2[..5], &[14u8], &good2[6..]].concat(),
            "version 14",
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

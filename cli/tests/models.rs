//! End-to-end tests of the `pixelrnn` binary's models: `--model` with a weight file, the colour
//! model for images with alpha, files of an earlier default, `sample` and `bench`.

mod common;

use common::{pixels, run, stderr, write_png};

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

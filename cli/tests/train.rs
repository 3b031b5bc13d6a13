//! `pixelrnn train` / `eval` end to end on a tiny generated IDX file (feature `torch`).
#![cfg(feature = "torch")]

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_pixelrnn");

fn write_idx(path: &Path, n: usize, h: usize, w: usize) {
    let mut b = vec![0u8, 0, 8, 3];
    for d in [n, h, w] {
        b.extend_from_slice(&(d as u32).to_be_bytes());
    }
    for k in 0..n {
        for y in 0..h {
            for x in 0..w {
                b.push(((x * 40 + y * 10 + k * 3) % 256) as u8);
            }
        }
    }
    std::fs::write(path, b).unwrap();
}

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let o = Command::new(BIN).args(args).current_dir(dir).output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The sizes and settings of every tiny CLI training run here.
const TINY: [&str; 11] = [
    "--hidden",
    "4",
    "--layers",
    "1",
    "--out-hidden",
    "8",
    "--batch",
    "8",
    "--device",
    "cpu",
    "--json",
];

#[test]
fn train_resume_and_eval_every_arch() {
    let d = tempfile::tempdir().unwrap();
    write_idx(&d.path().join("train-images-idx3-ubyte"), 24, 6, 7);
    write_idx(&d.path().join("t10k-images-idx3-ubyte"), 6, 6, 7);
    for arch in ["pixel-cnn", "row-lstm", "diagonal-bilstm", "gated-pixel-cnn"] {
        let out = format!("{arch}.safetensors");
        let common = [
            &["train", "--arch", arch, "--data", ".", "--out", &out][..],
            &TINY,
            &["--lr", "5e-3"],
        ]
        .concat();
        let (ok, stdout, stderr) = run(d.path(), &[&common[..], &["--epochs", "2"]].concat());
        assert!(ok, "{arch}: {stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(v["epochs"], 2, "{arch}");
        let w = pixelrnn_model::Weights::load(&d.path().join(&out)).unwrap();
        assert_eq!(w.config().arch.name(), arch.replace('-', "_"));
        let csv = std::fs::read_to_string(d.path().join(format!("{out}.csv"))).unwrap();
        assert_eq!(csv.lines().count(), 3, "{csv}");
        // Resume continues from the checkpoint: two more epochs, appended to the curve.
        let (ok, stdout, stderr) = run(d.path(), &[&common[..], &["--epochs", "4", "--resume"]].concat());
        assert!(ok, "{arch} resume: {stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(v["epochs"], 4);
        let csv = std::fs::read_to_string(d.path().join(format!("{out}.csv"))).unwrap();
        assert_eq!(csv.lines().count(), 5, "{csv}");
        // Resuming with other sizes is refused.
        let (ok, _, stderr) = run(
            d.path(),
            &[&common[..], &["--epochs", "5", "--resume", "--no-skip"]].concat(),
        );
        assert!(!ok && stderr.contains("checkpoint"), "{stderr}");
    }
    let (ok, stdout, stderr) = run(
        d.path(),
        &[
            "eval",
            "--model",
            "pixel-cnn.safetensors",
            ".",
            "--device",
            "cpu",
            "--json",
        ],
    );
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(v["difference"].as_f64().unwrap().abs() < 1e-3);
    assert!(v["actual_bits_per_dim"].as_f64().unwrap() > 0.0);
    let (ok, stdout, _) = run(
        d.path(),
        &[
            "eval",
            "--model",
            "row-lstm.safetensors",
            ".",
            "--device",
            "cpu",
            "--json",
        ],
    );
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(v["libtorch_bits_per_dim"].as_f64().unwrap() > 0.0);
    // A model of the wrong layout is refused.
    let (ok, _, stderr) = run(
        d.path(),
        &[
            "train",
            "--data",
            "missing-dir",
            "--out",
            "x.safetensors",
            "--device",
            "cpu",
        ],
    );
    assert!(!ok && stderr.contains("missing-dir"), "{stderr}");
}

/// A multi-scale model trains (conditional Row LSTM, small PixelCNN, 6×7 images with k = 2 and
/// 3), starts from its own weights with --init, and evaluates with libtorch and the engine
/// agreeing; the trained model compresses and decompresses an image exactly.
#[test]
fn multiscale_trains_inits_and_evaluates() {
    let d = tempfile::tempdir().unwrap();
    write_idx(&d.path().join("train-images-idx3-ubyte"), 24, 6, 7);
    write_idx(&d.path().join("t10k-images-idx3-ubyte"), 6, 6, 7);
    for k in ["2", "3"] {
        let out = format!("ms{k}.safetensors");
        let common = [
            "train",
            "--arch",
            "row-lstm",
            "--multiscale",
            k,
            "--small-arch",
            "pixel-cnn",
            "--cond-features",
            "3",
            "--data",
            ".",
            "--epochs",
            "2",
        ];
        let common = [&common[..], &TINY].concat();
        let (ok, _, stderr) = run(d.path(), &[&common[..], &["--out", &out]].concat());
        assert!(ok, "k={k}: {stderr}");
        let w = pixelrnn_model::Weights::load(&d.path().join(&out)).unwrap();
        assert_eq!(w.config().factor(), k.parse::<usize>().unwrap());
        let init = format!("ms{k}-init.safetensors");
        let (ok, stdout, stderr) = run(d.path(), &[&common[..], &["--out", &init, "--init", &out]].concat());
        assert!(ok, "k={k} init: {stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(v["best_valid_bits_per_dim"].as_f64().unwrap() > 0.0);
        let (ok, stdout, stderr) = run(d.path(), &["eval", "--model", &init, ".", "--device", "cpu", "--json"]);
        assert!(ok, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(v["difference"].as_f64().unwrap().abs() < 1e-4, "{v}");
    }
    // --init refuses weights of another configuration.
    let (ok, _, stderr) = run(
        d.path(),
        &[
            "train",
            "--data",
            ".",
            "--hidden",
            "5",
            "--layers",
            "1",
            "--out-hidden",
            "8",
            "--device",
            "cpu",
            "--epochs",
            "1",
            "--out",
            "x.safetensors",
            "--init",
            "ms2.safetensors",
        ],
    );
    assert!(!ok && stderr.contains("config"), "{stderr}");
}

/// The logistic-mixture head trains with every new training option (cosine schedule with
/// warm-up, Polyak averaging, dropout), resumes with its optimiser state, and evaluates with
/// libtorch, the engine and the real compressed size agreeing; unknown choices are refused.
#[test]
fn mixture_head_trains_resumes_and_evaluates() {
    let d = tempfile::tempdir().unwrap();
    write_idx(&d.path().join("train-images-idx3-ubyte"), 24, 6, 7);
    write_idx(&d.path().join("t10k-images-idx3-ubyte"), 6, 6, 7);
    for arch in ["pixel-cnn", "gated-pixel-cnn"] {
        let out = format!("mix-{arch}.safetensors");
        let common = [
            &["train", "--arch", arch, "--data", ".", "--out", &out][..],
            &TINY,
            &[
                "--head",
                "logistic-mixture",
                "--components",
                "3",
                "--schedule",
                "cosine",
                "--warmup",
                "2",
                "--ema",
                "0.9",
                "--dropout",
                "0.1",
                "--lr",
                "5e-3",
            ],
        ]
        .concat();
        let (ok, _, stderr) = run(d.path(), &[&common[..], &["--epochs", "2"]].concat());
        assert!(ok, "{arch}: {stderr}");
        assert!(d.path().join(format!("{out}.ckpt.optim.safetensors")).exists());
        let (ok, stdout, stderr) = run(d.path(), &[&common[..], &["--epochs", "3", "--resume"]].concat());
        assert!(ok, "{arch} resume: {stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(v["epochs"], 3);
        assert!(v["subpixels_per_sec"].as_f64().unwrap() > 0.0);
        let w = pixelrnn_model::Weights::load(&d.path().join(&out)).unwrap();
        assert_eq!(w.config().head.components(), 3);
        let (ok, stdout, stderr) = run(d.path(), &["eval", "--model", &out, ".", "--device", "cpu", "--json"]);
        assert!(ok, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(v["difference"].as_f64().unwrap().abs() < 1e-3, "{v}");
        let (model, actual) = (
            v["engine_bits_per_dim"].as_f64().unwrap(),
            v["actual_bits_per_dim"].as_f64().unwrap(),
        );
        // The payload is whole 32-bit words after its substream table (S, and version 8's lanes
        // and delay: three bytes): up to 56 bits of slack on each 42-sub-pixel image.
        assert!(actual >= model * 0.999 && actual < model + 56.0 / 42.0, "{v}");
    }
    for (flag, value) in [("--head", "gaussian"), ("--schedule", "linear"), ("--precision", "fp8")] {
        let (ok, _, stderr) = run(
            d.path(),
            &[
                &["train", "--data", ".", "--out", "x.safetensors", flag, value][..],
                &TINY,
            ]
            .concat(),
        );
        assert!(!ok && stderr.contains(value), "{flag} {value}: {stderr}");
    }
}

//! Checked-in `.prnn` files (tests/golden/) for every architecture and channel layout decode to
//! pixels with the SHA-256 listed in tests/golden/SHA256SUMS, on every machine. The models come
//! from fixed seeds; each file's header pins the model id, so a changed model fails loudly.
//! `PIXELRNN_BLESS=1 cargo test -p pixelrnn-tests --test golden_files` rewrites them (a format
//! break: bump the version instead, unless no release has shipped); `PIXELRNN_BLESS=v6` writes
//! only the version 6 files (a new version's files, leaving the older ones as they are; `v5`,
//! `v7` to `v12` those versions' ones).

use std::path::PathBuf;

use pixelrnn_codec::{decode, encode, DecodeOptions, EncodeOptions, Header, Image, Limits, MetaKind, Metadata};
use pixelrnn_model::{id_hex, Arch, Config, Engine, MultiScale};
use pixelrnn_tests::{make_opaque, phase_image, smooth_image, ui_image};
use sha2::{Digest, Sha256};

/// Architectures; "multiscale" is a multi-scale model (PixelCNN conditioned on a Diagonal
/// BiLSTM's small image, k = 2); "mixture-pixel-cnn" and "mixture-gated" use the logistic-mixture
/// head (4 and 3 components). No name is a prefix of another's files.
const ARCHS: [&str; 7] = [
    "pixel-cnn",
    "row-lstm",
    "diagonal-bilstm",
    "multiscale",
    "gated-pixel-cnn",
    "mixture-pixel-cnn",
    "mixture-gated",
];
/// (name, channels, all-opaque alpha)
const LAYOUTS: [(&str, u8, bool); 5] = [
    ("grey", 1, false),
    ("grey-alpha", 2, false),
    ("rgb", 3, false),
    ("rgba", 4, false),
    ("rgba-opaque", 4, true),
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

fn model(arch: &str, coded: usize) -> Engine {
    let base = Config::pixel_cnn(coded, 4, 2, 8);
    let config = match arch {
        "multiscale" => Config {
            multiscale: Some(MultiScale {
                factor: 2,
                features: 3,
                small_arch: Arch::DiagonalBilstm,
                small_hidden: 4,
                small_layers: 1,
                small_out_hidden: 8,
            }),
            ..base
        },
        "mixture-pixel-cnn" => base.with_mixture(4),
        "mixture-gated" => base.with_arch(Arch::GatedPixelCnn).with_mixture(3),
        a => base.with_arch(a.parse().unwrap()),
    };
    Engine::random(&config, 0x601D + coded as u64).unwrap()
}

fn image(channels: u8, opaque: bool, seed: u64) -> Image {
    let mut img = smooth_image(9, 7, channels, seed);
    if opaque {
        make_opaque(&mut img);
    }
    img
}

fn sha(b: &[u8]) -> String {
    id_hex(&Sha256::digest(b).into())
}

fn bless() {
    let mut sums = String::new();
    for (ai, an) in ARCHS.iter().enumerate() {
        for (li, (ln, c, opaque)) in LAYOUTS.iter().enumerate() {
            let img = image(*c, *opaque, (ai * 10 + li) as u64);
            let m = model(an, img.coded_channels(true) as usize);
            // The checked-in set is format version 1 (model coding), which must keep decoding.
            let opts = EncodeOptions {
                version: 1,
                mode: pixelrnn_codec::ModeChoice::Model,
                ..Default::default()
            };
            let enc = encode(&img, &m, &opts).unwrap();
            let name = format!("{an}-{ln}.prnn");
            std::fs::write(dir().join(&name), &enc.bytes).unwrap();
            sums.push_str(&format!("{}  {name}\n", sha(&img.pixels)));
        }
    }
    // Format version 2 (decoded on every machine; the classical files' bytes depend on the
    // Brotli encoder, so they are pinned as files, not as encoder output): the classical and
    // the adaptive coding of every layout, with the tiny PixelCNN.
    for (li, (ln, c, opaque)) in LAYOUTS.iter().enumerate() {
        for (mi, mode) in V2_MODES.iter().enumerate() {
            let img = image(*c, *opaque, 100 + (li * 2 + mi) as u64);
            let m = model("pixel-cnn", img.coded_channels(true) as usize);
            let opts = EncodeOptions {
                version: 2,
                mode: if *mode == "classical" {
                    pixelrnn_codec::ModeChoice::Classical
                } else {
                    pixelrnn_codec::ModeChoice::Model
                },
                ..Default::default()
            };
            let enc = encode(&img, &m, &opts).unwrap();
            let name = format!("v2-{mode}-{ln}.prnn");
            std::fs::write(dir().join(&name), &enc.bytes).unwrap();
            sums.push_str(&format!("{}  {name}\n", sha(&img.pixels)));
        }
    }
    // Format version 4: the adaptive coding of every layout (its experts are version 4's own).
    adaptive_files(4, 200, &mut sums);
    adaptive_files(5, 300, &mut sums);
    context_files(&mut sums);
    stage_files(&mut sums);
    lane_files(&mut sums);
    phase_files(9, &mut sums);
    phase_files(10, &mut sums);
    // Few colours: the palette transforms (packed below 17 colours, one byte per index above).
    for (name, colours) in [
        ("v2-classical-palette2-rgb.prnn", 2u32),
        ("v2-classical-palette40-rgb.prnn", 40),
    ] {
        let (w, h) = (61u32, 13u32);
        let px: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let k = ((i as u64 * 2_654_435_761) >> 7) as u32 % colours;
                [(k * 37 % 256) as u8, (k * 11) as u8, 200]
            })
            .collect();
        let img = Image::new(w, h, 3, px).unwrap();
        let opts = EncodeOptions {
            version: 2,
            mode: pixelrnn_codec::ModeChoice::Classical,
            ..Default::default()
        };
        let enc = encode(&img, &model("pixel-cnn", 3), &opts).unwrap();
        std::fs::write(dir().join(name), &enc.bytes).unwrap();
        sums.push_str(&format!("{}  {name}\n", sha(&img.pixels)));
    }
    std::fs::write(dir().join("SHA256SUMS"), sums).unwrap();
}

/// Writes `v{version}-adaptive-{layout}.prnn`, the adaptive coding of every layout (images
/// seeded from `seed`), and adds their lines to `sums`.
fn adaptive_files(version: u8, seed: u64, sums: &mut String) {
    for (li, (ln, c, opaque)) in LAYOUTS.iter().enumerate() {
        let img = image(*c, *opaque, seed + li as u64);
        let m = model("pixel-cnn", img.coded_channels(true) as usize);
        let opts = EncodeOptions {
            version,
            mode: pixelrnn_codec::ModeChoice::Model,
            ..Default::default()
        };
        let enc = encode(&img, &m, &opts).unwrap();
        assert!(enc.header.adaptive(), "{ln}: the adaptive stream should be the smaller");
        let name = format!("v{version}-adaptive-{ln}.prnn");
        std::fs::write(dir().join(&name), &enc.bytes).unwrap();
        sums.push_str(&format!("{}  {name}\n", sha(&img.pixels)));
    }
}

/// Writes `v6-context-{layout}.prnn`, the context coding (format version 6, mode 2) of a
/// synthetic screenshot in every layout, and adds their lines to `sums`.
fn context_files(sums: &mut String) {
    screenshot_files(6, pixelrnn_codec::ModeChoice::Context, sums);
}

/// Writes `v7-adaptive-{layout}.prnn`, the adaptive model coding (format version 7: with the
/// context stage) of a synthetic screenshot in every layout, and adds their lines to `sums`.
fn stage_files(sums: &mut String) {
    screenshot_files(7, pixelrnn_codec::ModeChoice::Model, sums);
}

/// A synthetic screenshot in every layout coded in format `version` with `mode` (the model
/// coding adaptive), as `v{version}-{context|adaptive}-{layout}.prnn`, their lines added to `sums`.
fn screenshot_files(version: u8, mode: pixelrnn_codec::ModeChoice, sums: &mut String) {
    let (w, h, seed, kind) = match mode {
        pixelrnn_codec::ModeChoice::Context => (37, 29, 400, "context"),
        _ => (41, 23, 700, "adaptive"),
    };
    for (li, (ln, c, opaque)) in LAYOUTS.iter().enumerate() {
        let mut img = ui_image(w, h, *c, seed + li as u64);
        if *opaque {
            make_opaque(&mut img);
        }
        let m = model("pixel-cnn", img.coded_channels(true) as usize);
        let opts = EncodeOptions {
            version,
            mode,
            // Version 8: one substream of eight lanes (the default's trial may keep one lane).
            substreams: (version >= 8).then_some(1),
            ..Default::default()
        };
        let enc = encode(&img, &m, &opts).unwrap();
        if kind == "adaptive" {
            assert!(enc.header.adaptive(), "{ln}: the adaptive stream should be the smaller");
        }
        let name = format!("v{version}-{kind}-{ln}.prnn");
        std::fs::write(dir().join(&name), &enc.bytes).unwrap();
        sums.push_str(&format!("{}  {name}\n", sha(&img.pixels)));
    }
}

/// Writes `v8-adaptive-{layout}.prnn`: version 7's screenshots in format version 8 (one
/// substream of eight lanes), and adds their lines to `sums`.
fn lane_files(sums: &mut String) {
    screenshot_files(8, pixelrnn_codec::ModeChoice::Model, sums);
}

/// What version 12's golden files keep in their headers: an ICC profile and EXIF data.
fn golden_metadata() -> Vec<Metadata> {
    vec![
        Metadata {
            kind: MetaKind::Icc,
            data: (0..700u32).map(|i| (i * 13 % 251) as u8).collect(),
        },
        Metadata {
            kind: MetaKind::Exif,
            data: b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0".to_vec(),
        },
    ]
}

/// Writes `v{version}-adaptive-{layout}.prnn` (version 9 to 12): an image whose noise
/// depends on the pixel's phase, in every layout, coded with the phase stages (one substream of
/// eight lanes; from version 10 on through the binary stage, from version 11 with the bias shrunk
/// towards its activity's, in version 12 with [`golden_metadata`]), and adds their lines to `sums`.
fn phase_files(version: u8, sums: &mut String) {
    for (li, (ln, c, opaque)) in LAYOUTS.iter().enumerate() {
        let mut img = phase_image(64, 48, *c, 900 + li as u64);
        if *opaque {
            make_opaque(&mut img);
        }
        let m = model("pixel-cnn", img.coded_channels(true) as usize);
        let metadata = if version >= 12 { golden_metadata() } else { Vec::new() };
        let opts = EncodeOptions {
            version,
            mode: pixelrnn_codec::ModeChoice::Model,
            substreams: Some(1),
            metadata: &metadata,
            ..Default::default()
        };
        let enc = encode(&img, &m, &opts).unwrap();
        assert!(
            enc.header.adaptive() && enc.header.phases(),
            "{ln}: the phase stages should be chosen"
        );
        let name = format!("v{version}-adaptive-{ln}.prnn");
        std::fs::write(dir().join(&name), &enc.bytes).unwrap();
        sums.push_str(&format!("{}  {name}\n", sha(&img.pixels)));
    }
}

/// Writes only one version's files (5 to 11), replacing their lines in SHA256SUMS.
fn bless_version(version: u8) {
    let path = dir().join("SHA256SUMS");
    let old = std::fs::read_to_string(&path).unwrap();
    let prefix = format!("  v{version}-");
    let mut sums: String = old
        .lines()
        .filter(|l| !l.contains(&prefix))
        .map(|l| format!("{l}\n"))
        .collect();
    match version {
        5 => adaptive_files(5, 300, &mut sums),
        6 => context_files(&mut sums),
        7 => stage_files(&mut sums),
        8 => lane_files(&mut sums),
        9..=12 => phase_files(version, &mut sums),
        v => panic!("no golden files of version {v}"),
    }
    std::fs::write(path, sums).unwrap();
}

/// The version 2 files: classical coding, and model coding with the adaptive expert tried.
const V2_MODES: [&str; 2] = ["classical", "adaptive"];

#[test]
fn golden_files_decode_to_the_listed_pixels() {
    match std::env::var("PIXELRNN_BLESS").as_deref() {
        Ok("v5") => bless_version(5),
        Ok("v6") => bless_version(6),
        Ok("v7") => bless_version(7),
        Ok("v8") => bless_version(8),
        Ok("v9") => bless_version(9),
        Ok("v10") => bless_version(10),
        Ok("v11") => bless_version(11),
        Ok("v12") => bless_version(12),
        Ok(_) => bless(),
        Err(_) => {}
    }
    let sums = std::fs::read_to_string(dir().join("SHA256SUMS")).expect("tests/golden/SHA256SUMS");
    let (mut seen, mut adaptive, mut v4, mut v5, mut v6, mut v7, mut v8, mut v9) = (0, 0, 0, 0, 0, 0, 0, 0);
    let (mut v10, mut v11, mut v12) = (0, 0, 0);
    for line in sums.lines() {
        let (want, name) = line.split_once("  ").expect("sha  name");
        let arch = if ["v2-", "v4-", "v5-", "v6-", "v7-", "v8-", "v9-", "v10-", "v11-", "v12-"]
            .iter()
            .any(|v| name.starts_with(v))
        {
            &"pixel-cnn"
        } else {
            ARCHS
                .iter()
                .find(|a| name.starts_with(&format!("{a}-")))
                .expect("known arch")
        };
        let bytes = std::fs::read(dir().join(name)).unwrap();
        let h = Header::parse(&bytes, &Limits::default()).unwrap();
        let version = match &name[..3] {
            _ if name.starts_with("v10-") => 10,
            _ if name.starts_with("v11-") => 11,
            _ if name.starts_with("v12-") => 12,
            "v2-" => 2,
            "v4-" => 4,
            "v5-" => 5,
            "v6-" => 6,
            "v7-" => 7,
            "v8-" => 8,
            "v9-" => 9,
            _ => 1,
        };
        assert_eq!(h.version, version, "{name}");
        adaptive += usize::from(h.adaptive());
        v4 += usize::from(version == 4 && h.adaptive());
        v5 += usize::from(version == 5 && h.adaptive());
        v6 += usize::from(version == 6 && h.mode == pixelrnn_codec::Mode::Context);
        v7 += usize::from(version == 7 && h.adaptive());
        let lanes = h.spread(&bytes).unwrap().map_or(1, |s| s.lanes);
        v8 += usize::from(version == 8 && h.adaptive() && lanes == 8);
        v9 += usize::from(version == 9 && h.adaptive() && h.phases() && lanes == 8);
        v10 += usize::from(version == 10 && h.adaptive() && h.phases() && lanes == 8);
        v11 += usize::from(version == 11 && h.adaptive() && h.phases() && lanes == 8);
        v12 +=
            usize::from(version == 12 && h.adaptive() && h.phases() && lanes == 8 && h.metadata == golden_metadata());
        let m = model(arch, h.coded_channels as usize);
        for threads in [1, 2] {
            let opts = DecodeOptions {
                threads,
                ..Default::default()
            };
            let img = decode(&bytes, &m, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(sha(&img.pixels), want, "{name}, {threads} thread(s)");
        }
        seen += 1;
    }
    assert_eq!(seen, (ARCHS.len() + V2_MODES.len() + 9) * LAYOUTS.len() + 2);
    assert_eq!(v4, LAYOUTS.len(), "every layout has an adaptive version 4 file");
    assert_eq!(v5, LAYOUTS.len(), "every layout has an adaptive version 5 file");
    assert_eq!(v6, LAYOUTS.len(), "every layout has a context-coded version 6 file");
    assert_eq!(v7, LAYOUTS.len(), "every layout has an adaptive version 7 file");
    assert_eq!(
        v8,
        LAYOUTS.len(),
        "every layout has an adaptive version 8 file of eight lanes"
    );
    assert_eq!(
        v9,
        LAYOUTS.len(),
        "every layout has a version 9 file with the phase stages, of eight lanes"
    );
    assert_eq!(
        v10,
        LAYOUTS.len(),
        "every layout has a version 10 file (the binary stage) with the phase stages, of eight lanes"
    );
    assert_eq!(
        v11,
        LAYOUTS.len(),
        "every layout has a version 11 file (the bias shrunk) with the phase stages, of eight lanes"
    );
    assert_eq!(
        v12,
        LAYOUTS.len(),
        "every layout has a version 12 file (metadata kept) with the phase stages, of eight lanes"
    );
    assert!(adaptive > 0, "no golden file exercises the adaptive decoder");
}

//! The golden bitstreams' shared cases: a file's SHA-256, a seeded image coded and decoded on
//! several thread counts, the first grey default, and the adaptive formats' set of cases.

use pixelrnn_codec::{decode, encode, DecodeOptions, EncodeOptions, ModeChoice};
use pixelrnn_model::defaults::builtin_engine;
use pixelrnn_model::{id_hex, Config, Engine};
use sha2::{Digest, Sha256};

use crate::smooth_image;

/// The SHA-256 of `b`, in hex.
pub fn sha(b: &[u8]) -> String {
    id_hex(&Sha256::digest(b).into())
}

/// The SHA-256 of the file of `smooth_image(w, h, c, seed)` in format version `version`, with
/// `mode` and `adapt`, the same on one and three encoding threads; it decodes on one and two.
#[allow(clippy::too_many_arguments)]
pub fn golden_with(
    engine: &Engine,
    w: u32,
    h: u32,
    c: u8,
    seed: u64,
    version: u8,
    mode: ModeChoice,
    adapt: bool,
) -> String {
    let img = smooth_image(w, h, c, seed);
    let mut shas = Vec::new();
    for threads in [1, 3] {
        let enc = encode(
            &img,
            engine,
            &EncodeOptions {
                threads,
                version,
                mode,
                adapt,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            enc.header.adaptive(),
            adapt,
            "the adaptive stream is kept when asked for here"
        );
        assert_eq!(decode(&enc.bytes, engine, &DecodeOptions::default()).unwrap(), img);
        // Rows side by side (format version 3's substreams): the same image.
        let opts = DecodeOptions {
            threads: 2,
            ..Default::default()
        };
        assert_eq!(decode(&enc.bytes, engine, &opts).unwrap(), img);
        shas.push(sha(&enc.bytes));
    }
    assert_eq!(shas[0], shas[1]);
    shas.remove(0)
}

/// Built-in model #1, the first grey default (the golden bitstreams of versions 2–4 use it; the
/// grey default is now #5).
pub fn grey1() -> Engine {
    builtin_engine(1).unwrap().unwrap()
}

/// The adaptive formats' cases (versions 4 and 5): a plain file, then the adaptive coding for
/// every channel count, rows over two substreams (520 rows) included.
pub fn adaptive_set(version: u8) -> [String; 6] {
    let builtin = grey1();
    let seeded = Engine::random(&Config::pixel_cnn(3, 8, 2, 16), 2024).unwrap();
    let mixture = Engine::random(&Config::pixel_cnn(3, 6, 2, 12).with_mixture(5), 2026).unwrap();
    let grey_alpha = Engine::random(&Config::pixel_cnn(2, 6, 2, 12), 41).unwrap();
    let rgba = Engine::random(&Config::pixel_cnn(4, 6, 2, 12), 42).unwrap();
    let m = ModeChoice::Model;
    [
        golden_with(&seeded, 19, 13, 3, 1, version, m, false),
        golden_with(&builtin, 48, 40, 1, 7, version, m, true),
        golden_with(&mixture, 40, 30, 3, 8, version, m, true),
        golden_with(&builtin, 6, 520, 1, 9, version, m, true),
        golden_with(&grey_alpha, 23, 17, 2, 12, version, m, true),
        golden_with(&rgba, 21, 19, 4, 13, version, m, true),
    ]
}

//! Golden bitstreams of the context coding (format versions 6 and 7) and of version 7's context
//! stage: a fixed image (and a fixed-seed model) must always give the same bytes, on every
//! machine, thread count and kernel path. A change here is a format break: bump the version.

use pixelrnn_codec::{decode, encode, DecodeOptions, EncodeOptions, ModeChoice};
use pixelrnn_model::{default_engine, Config, Engine};
use pixelrnn_tests::golden::{adaptive_set, golden_with, grey1, sha};
use pixelrnn_tests::{make_opaque, ui_image};

/// The SHA-256 of the context-coded (format version 6, mode 2) file of a synthetic screenshot
/// (after decoding it back); the context coding needs no model, so any engine serves.
fn golden_context(w: u32, h: u32, c: u8, seed: u64, opaque: bool) -> String {
    golden_context_in(w, h, c, seed, opaque, 6)
}

/// [`golden_context`] in format version `version`, without an opaque alpha.
fn golden_context_version(w: u32, h: u32, c: u8, seed: u64, version: u8) -> String {
    golden_context_in(w, h, c, seed, false, version)
}

fn golden_context_in(w: u32, h: u32, c: u8, seed: u64, opaque: bool, version: u8) -> String {
    let mut img = ui_image(w, h, c, seed);
    if opaque {
        make_opaque(&mut img);
    }
    let engine = default_engine(img.coded_channels(true) as usize).unwrap();
    let opts = EncodeOptions {
        version,
        mode: ModeChoice::Context,
        ..Default::default()
    };
    let enc = encode(&img, &engine, &opts).unwrap();
    assert_eq!(enc.header.mode, pixelrnn_codec::Mode::Context);
    assert_eq!(decode(&enc.bytes, &engine, &DecodeOptions::default()).unwrap(), img);
    sha(&enc.bytes)
}

/// Format version 6: the context coding (mode 2) of every channel layout, an all-opaque alpha
/// dropped included, down to one pixel; and the model coding, which is version 5's with the
/// version byte changed. The same bits on every machine (`scripts/cross-aarch64` runs it).
#[test]
fn golden_v6() {
    let got = [
        golden_context(1, 1, 3, 1, false),
        golden_context(61, 37, 1, 2, false),
        golden_context(40, 33, 2, 3, false),
        golden_context(96, 64, 3, 4, false),
        golden_context(50, 41, 4, 5, false),
        golden_context(50, 41, 4, 6, true),
    ];
    assert_eq!(
        got,
        [
            "7c96a5f5c496fa0d5ceb89b844ce4d1c1258a9eddde8e0c92fea97edcfe25f38",
            "66775923c014a233fc1051e7e132427a0b57e3b02d5b2df37d1d97b2943b9b8a",
            "f3c4d8c6ee01de70f90e68995feb209eb094c1f40238c5c4c65666a956ac0f9b",
            "5e639d50be2088193768f5baa312a1e3636507b989375bdb562f7972360fb050",
            "382f40996df715729f8f54071c2d16220a035a9e2740bcf7bb254d17a2785ca4",
            "86a7954dc0df9e3be581b068120ad4e0fd3fbc1c6b0f99f8749ae283de2af872",
        ]
    );
    let seeded = Engine::random(&Config::pixel_cnn(3, 8, 2, 16), 2024).unwrap();
    let model = golden_with(&grey1(), 48, 40, 1, 7, 6, ModeChoice::Model, true);
    let plain = golden_with(&seeded, 19, 13, 3, 1, 6, ModeChoice::Model, false);
    assert_eq!(
        [model, plain],
        [
            "5135ddeb55bb4315331523ddbd1afc24438653224956762eafd2f7036e5ef5f1",
            "47f3318fa4b1e086ec8c36bfddd46726475a73b89bc1728f3282e9e86f7b05aa",
        ]
    );
}

/// The SHA-256 of the model-coded, adaptive file of a synthetic screenshot with `engine` (the
/// context stage has exact repeats to learn from), after decoding it back on one and three
/// threads.
fn golden_ui_model(engine: &Engine, (w, h, c): (u32, u32, u8), seed: u64, version: u8) -> String {
    let img = ui_image(w, h, c, seed);
    let opts = EncodeOptions {
        version,
        mode: ModeChoice::Model,
        // The spread the golden files were made with (the default for these heights, pinned: it
        // may keep one substream for a cheap image, or change).
        substreams: Some(1 + h as usize / 512),
        ..Default::default()
    };
    let enc = encode(&img, engine, &opts).unwrap();
    assert!(enc.header.adaptive());
    for threads in [1, 3] {
        let dec = DecodeOptions {
            threads,
            ..Default::default()
        };
        assert_eq!(decode(&enc.bytes, engine, &dec).unwrap(), img);
    }
    sha(&enc.bytes)
}

/// Format version 7: version 5's adaptive coding followed by the context stage (version 6's
/// context model per substream, mixed two ways), for every channel count, rows over two
/// substreams (520 rows) included, and on synthetic screenshots (exact repeats; 530 rows: two
/// substreams, decoded on one and three threads); the context coding (version 6's). The same
/// bits on every kernel path and machine (`scripts/cross-aarch64` runs it).
#[test]
fn golden_v7() {
    let got = adaptive_set(7);
    let seeded = Engine::random(&Config::pixel_cnn(3, 8, 2, 16), 2024).unwrap();
    let ui = [
        golden_ui_model(&seeded, (64, 48, 3), 21, 7),
        golden_ui_model(&grey1(), (40, 530, 1), 22, 7),
    ];
    let context = golden_context_version(50, 41, 4, 5, 7);
    assert_eq!(
        got,
        [
            "efedd622166df94810aed6d2b396c2e28b5ae2bc294c930e66a758386955c922",
            "0cd9e02b5117f31723232c8e332f0887022a350bfa9d1586ff1fe3fca6a4c087",
            "3815163132f98c5978c3d45f94ba4df6f0792267b710075bee062e0fbef93511",
            "10b4c95486435697dd31b589856b2242338a152c46c53bf250eaa2fe3b3c60ab",
            "c31d00ea2549e968d171148c3fd195b372df0e47a2bd11ab4ea2a732fc5c0446",
            "82014e3548979c8934b77d5b8bdc1decf05cb84b337e1d7f883f418c6b43c053",
        ]
    );
    assert_eq!(
        ui,
        [
            "e35d348714c40dc1068a2cc83ffc9a7ab45bf083727ea63243980ab9632c9b5b",
            "5ee28b1c62e5dcca543ce5cac567bce1c45ce79ccedb045f5ea6bccc8ddc28fd",
        ]
    );
    assert_eq!(
        context,
        "4b1eb56f58018959d3d8b5e7292b724a93a21d80f3cbc69ffc431540c5a71ffa"
    );
}

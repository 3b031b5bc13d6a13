//! Golden bitstreams: a fixed-seed model and a fixed image must always give the same bytes, on
//! every machine, thread count and build. A change here is a format break: bump the version.
//! Versions 6 and 7 (the context coding and stage) are in `golden_context.rs`.

use pixelrnn_codec::ModeChoice;
use pixelrnn_model::{default_engine, id_hex, Arch, Config, Engine, MultiScale};
use pixelrnn_tests::golden::{adaptive_set, golden_with, grey1};

/// The SHA-256 of the format version 1 file (model coding) of a seeded image: version 1 writing
/// must never change. [`golden_v2`] pins version 2.
fn golden(engine: &Engine, w: u32, h: u32, c: u8, seed: u64) -> String {
    golden_with(engine, w, h, c, seed, 1, ModeChoice::Model, false)
}

#[test]
fn golden_seeded_pixel_cnn_rgb() {
    let e = Engine::random(&Config::pixel_cnn(3, 8, 2, 16), 2024).unwrap();
    assert_eq!(
        id_hex(&e.id()),
        "c3178edf5726ef563658bcd4e67feeefeebce2642a37cf9030f5109c3ada856e"
    );
    assert_eq!(
        golden(&e, 19, 13, 3, 1),
        "b8190f6c419888ebfe633c69375d04e7746b2ef46cca12cfb634b1fe63341085"
    );
}

#[test]
fn golden_seeded_pixel_cnn_grey_alpha() {
    let e = Engine::random(&Config::pixel_cnn(2, 4, 1, 8), 7).unwrap();
    assert_eq!(
        golden(&e, 8, 21, 2, 2),
        "8cf8353416c343cdeab2f03b2fbb4bf9b4ca21137d0cfdcd2f7e7f467c7fbf25"
    );
}

#[test]
fn golden_builtin_default_grey() {
    // The built-in grey default (#5) must keep decoding files written by earlier builds.
    let e = default_engine(1).unwrap();
    assert_eq!(
        id_hex(&e.id()),
        "9490b4a0ae9168cb715fc44fd634adf3373e63c9a0b6236934243d54d31a1c10"
    );
    assert_eq!(
        golden_with(&e, 48, 40, 1, 7, 4, ModeChoice::Model, true),
        "4fe26a913028033ac80292dac52ce6d156e7acdc3308b9044ef8dee2dfc68387"
    );
}

#[test]
fn golden_builtin_default_rgb() {
    // The built-in default (the trained RGB PixelCNN) must keep decoding files written by
    // earlier builds; a new default gets a new index, and the old one stays built in.
    let e = default_engine(3).unwrap();
    assert_eq!(
        id_hex(&e.id()),
        "2ea8f66f8f4988f69d867baade88501f756a014fa9b17335bbae7f3053341f20"
    );
    assert_eq!(
        golden(&e, 16, 16, 3, 3),
        "c0842ab4e6aabacd43ce9b7f72e7214d34c2306155231225e7921814bf13be20"
    );
}

#[test]
fn golden_seeded_row_lstm_rgb() {
    let e = Engine::random(&Config::pixel_cnn(3, 6, 2, 12).with_arch(Arch::RowLstm), 31).unwrap();
    assert_eq!(
        golden(&e, 11, 9, 3, 4),
        "42a389078856470db9f9071e123d72f045a84cd55bd1cce5d7f307ff38d6b66d"
    );
}

#[test]
fn golden_seeded_diagonal_bilstm_grey() {
    let e = Engine::random(&Config::pixel_cnn(1, 5, 2, 10).with_arch(Arch::DiagonalBilstm), 32).unwrap();
    assert_eq!(
        golden(&e, 13, 10, 1, 5),
        "975f2f414715fd9656990be37e160ac00b729ff8775b1e0bf854e3adabb80aeb"
    );
}

#[test]
fn golden_seeded_diagonal_bilstm_rgba() {
    let e = Engine::random(&Config::pixel_cnn(4, 4, 1, 8).with_arch(Arch::DiagonalBilstm), 33).unwrap();
    assert_eq!(
        golden(&e, 7, 6, 4, 6),
        "0bfed8abe1d2ef18d96869e4de65af8936722706eb6c9319ed7b0607e85480dd"
    );
}

#[test]
fn golden_seeded_multiscale_rgb() {
    // Row LSTM conditioned on a PixelCNN over every 3rd pixel (sides not multiples of 3).
    let c = Config {
        multiscale: Some(MultiScale {
            factor: 3,
            features: 4,
            small_arch: Arch::PixelCnn,
            small_hidden: 5,
            small_layers: 1,
            small_out_hidden: 9,
        }),
        ..Config::pixel_cnn(3, 6, 2, 12).with_arch(Arch::RowLstm)
    };
    let e = Engine::random(&c, 34).unwrap();
    assert_eq!(
        golden(&e, 11, 8, 3, 7),
        "b02638bb54438a570b33863571c83ef567e3eb48d4b0d6da6bbffabca9fccf11"
    );
}

/// The gated PixelCNN and the logistic-mixture head (its lazy integer CDF) pin their bitstreams.
#[test]
fn golden_seeded_gated_and_mixture() {
    let gated = Engine::random(&Config::pixel_cnn(3, 6, 2, 12).with_arch(Arch::GatedPixelCnn), 2025).unwrap();
    let mixture = Engine::random(&Config::pixel_cnn(3, 6, 2, 12).with_mixture(5), 2026).unwrap();
    let gated_mixture = Engine::random(
        &Config::pixel_cnn(4, 6, 2, 12)
            .with_arch(Arch::GatedPixelCnn)
            .with_mixture(3),
        2027,
    )
    .unwrap();
    let got = [
        golden(&gated, 17, 11, 3, 3),
        golden(&mixture, 17, 11, 3, 4),
        golden(&gated_mixture, 13, 9, 4, 5),
    ];
    assert_eq!(
        got,
        [
            "c4edadd500bb12595ecef220dee82957eef9f0761825ead7b108890d5bf46296",
            "b7cf7aa3c26209b6192fa32f4e5f971670533b3be1a5374cfbff02d899801761",
            "1ae26ecbf9f5838ae3b077c59a3f536dd8baa7b09fe5e25d366e4fbd8f5619d3",
        ]
    );
}

/// Format version 2: the compact header with a built-in model's index, a model named by id, and
/// the adaptive coding (with a softmax and a mixture-head model; the test
/// checks that the adaptive stream was the one kept).
#[test]
fn golden_v2() {
    let builtin = grey1();
    let seeded = Engine::random(&Config::pixel_cnn(3, 8, 2, 16), 2024).unwrap();
    let mixture = Engine::random(&Config::pixel_cnn(3, 6, 2, 12).with_mixture(5), 2026).unwrap();
    let got = [
        golden_with(&builtin, 11, 7, 1, 6, 2, ModeChoice::Model, false),
        golden_with(&seeded, 19, 13, 3, 1, 2, ModeChoice::Model, false),
        golden_with(&builtin, 48, 40, 1, 7, 2, ModeChoice::Model, true),
        golden_with(&mixture, 40, 30, 3, 8, 2, ModeChoice::Model, true),
    ];
    // (Classical files are pinned as checked-in files in golden_files.rs: their bytes depend on
    // the Brotli encoder, whose heuristics use floating point.)
    assert_eq!(
        got,
        [
            "e326b6e0a0181a46fe297beeb6c5bcdfffe94b125e821d9588e2a129b69edf4e",
            "973fe1a0bf3f12e8199d6975020bc6e5fe4382d62f671fa4b8c2dfed3defbe09",
            "ab7c3f392d0bfad8fb58d4a3caace790b01bbb72f768aee3f71482a07b728aa2",
            "0413ea84f4c5a72976b220cccae2cd6e2655a37eb886ac403f53455f49c88364",
        ]
    );
}

/// Format version 3: the fused multiply-add arithmetic (the same bits on every kernel path:
/// `scripts/check` runs this test again with `PIXELRNN_ISA=portable` and `avx2`, and
/// `scripts/cross-aarch64` on NEON) and rows spread over substreams (the 520-row image has two).
#[test]
fn golden_v3() {
    let builtin = grey1();
    let seeded = Engine::random(&Config::pixel_cnn(3, 8, 2, 16), 2024).unwrap();
    let mixture = Engine::random(&Config::pixel_cnn(3, 6, 2, 12).with_mixture(5), 2026).unwrap();
    let row_lstm = Engine::random(&Config::pixel_cnn(3, 6, 2, 12).with_arch(Arch::RowLstm), 7).unwrap();
    let gated = Engine::random(&Config::pixel_cnn(3, 6, 2, 12).with_arch(Arch::GatedPixelCnn), 8).unwrap();
    eprintln!("kernel path: {:?}", pixelrnn_model::Isa::detect());
    let got = [
        golden_with(&builtin, 11, 7, 1, 6, 3, ModeChoice::Model, false),
        golden_with(&seeded, 19, 13, 3, 1, 3, ModeChoice::Model, false),
        golden_with(&builtin, 48, 40, 1, 7, 3, ModeChoice::Model, true),
        golden_with(&mixture, 40, 30, 3, 8, 3, ModeChoice::Model, true),
        golden_with(&builtin, 6, 520, 1, 9, 3, ModeChoice::Model, true),
        golden_with(&row_lstm, 9, 8, 3, 10, 3, ModeChoice::Model, false),
        golden_with(&gated, 9, 8, 3, 11, 3, ModeChoice::Model, false),
    ];
    assert_eq!(
        got,
        [
            "192eac3ba8620942abae0ccf8f9e0bb1ec0ae3e4a268df5bee07d4d1ca83fb16",
            "129d3c550d66744cb37fd282383533986ffd7285532f30c35d242ea01b2a9d1e",
            "c63b882a20ed5b6d372b34a99959be06d53cdca0a9525144afd869c30f4bd1d1",
            "4ed4ad2d7a45e60df4e03be673a1dba3f63e21704c4fc2cf259dcd50f7d727ea",
            "368a944f5d9162efcdb283cc65caaaee4cc4f32084de097045c2d9ba5e6061a1",
            "1b603855e977d927e2963b951072573ee7b8c48ddf66280a7ff9fc1799ca9cfc",
            "d36100ff39f733859f4c2bab5ae5f0b99ad5ec896ef48a7ed152d54a4fb9249e",
        ]
    );
}

/// Format version 4: version 3's coding with version 4's adaptive experts (the blended
/// prediction, its learnt correction and the logistic experts) for every channel count, rows
/// over two substreams (520 rows) included; the same bits on every kernel path (`scripts/check`
/// and `scripts/cross-aarch64` run it again there). Non-adaptive files are version 3's bits
/// with the version byte changed.
#[test]
fn golden_v4() {
    eprintln!("kernel path: {:?}", pixelrnn_model::Isa::detect());
    let got = adaptive_set(4);
    assert_eq!(
        got,
        [
            "e34139cf10ce9832c8278f74be09bc56666b032a7f11f5ff46da48f7db31193d",
            "dfd76f21d920034946b54248cbe69a1a75c64ea8fe2dd25067b695f204b7350e",
            "26f1d1d689e29557ba53b98b6368e416797f276ae85b0bcf54b8371f4747c03e",
            "43ac39a3a7cd7d6299e695dea0140975304978612dde7f5d875fef8d53035c5c",
            "4f24203b0f840ef373e86581b125661df28e5a1bffcd7d7ad44d31262ea7ed06",
            "a61824640ffd7240e04224d4e04731ee520db5b6a56ec36ecaa16268df20292f",
        ]
    );
}

/// Format version 5: version 4's coding with the geometric stage after its linear mixture, for
/// every channel count, rows over two substreams (520 rows) included; the same bits on every
/// kernel path and machine (`scripts/cross-aarch64` runs it again there). Non-adaptive files
/// are version 3's bits with the version byte changed.
#[test]
fn golden_v5() {
    let got = adaptive_set(5);
    assert_eq!(
        got,
        [
            "b37154e236663176c5cc168da1885f794286afb734964ae55dcf79a47519fcb0",
            "63b3634c5ebc1a754125237214d63b50c63aa7eb32bf60ac8183b4a4a289e46d",
            "9237be9c59c202762028f36a5f73c9efb7ed6e4fdfa457cdc463764f22c2bf25",
            "4e25de94887c1997cdfa243d880d3743b1c4615db77904d0fab3d370b8fea86e",
            "48182ff9d28ef4819bfce0024154cbb295b9ab8f350fe03fa316b3ef84d4db2c",
            "6d2f98c68babd0a398cfc7a23c34924c3b481d2b76c92b2cbd0d8c936422aea2",
        ]
    );
}

/// Format version 10: version 9's coding through the binary stage, for every channel count, the
/// mixture head's lazy CDF and rows over two substreams (520 rows) included; the same bits on
/// every kernel path and machine (`scripts/cross-aarch64` runs it again there). Pinned from the
/// first build that wrote version 10.
#[test]
fn golden_v10() {
    let got = adaptive_set(10);
    assert_eq!(
        got,
        [
            "267632ba06f19bc60e5e0cfb2d9be48044d6fa29c8d63eef78c4fae997450ff8",
            "3f332db40bd8430f430deb3d5b68519fb8e5061d20c335b1a593825500b81353",
            "f08dce5f0b8d1a9a03ffbb6d22c18cb9a6c1459b271871135e4c59ae12eea9f3",
            "3e369e8c4c0820f5203ef10156a9836495f1502040b83f749aeacf5a6c069b54",
            "0f59ac13709494ba927d0b6b8f184f7f68ce3961b910201fa7d591c9558102e0",
            "e4b91a7e16f48ea28da3f8abf7db1462a83ed1a54671ab81898eb9698c80e746",
        ]
    );
}

/// Format version 11: version 10's coding with the experts' bias shrunk towards its activity
/// pair's mean and the correction learnt faster, for every channel count, the mixture head's
/// lazy CDF and rows over two substreams (520 rows) included; the same bits on every kernel
/// path and machine (`scripts/cross-aarch64` runs it again there). Pinned from the first build
/// that wrote version 11.
#[test]
fn golden_v11() {
    let got = adaptive_set(11);
    assert_eq!(
        got,
        [
            "697ee53ffa4e828d27ffecf9370c4c96ffce6e837878777f21c8644dcc3c15e5",
            "d8311374ce45cb2db99167ca32139fab768d15d0c2097a84d3fab45dc6955f2c",
            "c805cdb636cd700fe94b1a40bb91d41ae52990e233766dbddf0c80d7b9e9925e",
            "3ba454dab6c08031d46e705ca6efa36280a09ee556f144d399b79ecf39269e58",
            "c77770ba2055e26c61c2d3acad7393179c7bf9ec6617fbaaf853a20d3d9bd11e",
            "3436548497e2eb55ce4ec68bbfc5d89810aefe8cfb6d9d85020e77fcd94aeb55",
        ]
    );
}

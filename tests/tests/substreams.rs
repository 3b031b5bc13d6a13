//! Format version 3's substreams: decoded side by side on threads, the counts asked for, and the
//! encoder's default (the spread by height, or one substream where that is clearly smaller).

use pixelrnn_codec::{decode, encode, DecodeOptions, EncodeOptions, ModeChoice};
use pixelrnn_model::{Arch, Config, Engine};
use pixelrnn_tests::{smooth_image, tiny_engine, tiny_multiscale_engine};

/// Format version 3's substreams decoded side by side on threads give the image of the
/// sequential decoder (plain and adaptive, softmax and Row LSTM models), and a damaged
/// substream is an error, not a hang.
#[test]
fn substreams_decode_side_by_side() {
    let engines = [
        tiny_engine(3, 7),
        Engine::random(&Config::pixel_cnn(3, 6, 1, 8).with_arch(Arch::RowLstm), 8).unwrap(),
        Engine::random(&Config::pixel_cnn(3, 6, 1, 8).with_mixture(3), 9).unwrap(),
    ];
    let img = smooth_image(9, 770, 3, 5);
    for (i, engine) in engines.iter().enumerate() {
        for adapt in [false, true] {
            let opts = EncodeOptions {
                adapt,
                mode: ModeChoice::Model,
                threads: 2,
                // An odd count: on two threads, one decodes two rows in step and the other one.
                substreams: Some(3),
                ..Default::default()
            };
            let enc = encode(&img, engine, &opts).unwrap();
            assert_eq!(enc.header.adaptive(), adapt, "engine {i}");
            assert_eq!(enc.bytes[enc.header.header_len()], 3, "three substreams");
            // 4 and 6: one and three of the substreams' threads with a helper computing the
            // model's steps.
            for threads in [1, 2, 3, 4, 6] {
                let dec = decode(
                    &enc.bytes,
                    engine,
                    &DecodeOptions {
                        threads,
                        ..Default::default()
                    },
                );
                assert_eq!(dec.unwrap(), img, "engine {i}, adaptive {adapt}, {threads} threads");
            }
            // Damage inside the last substream: the thread decoding it fails, the others stop
            // (and their helpers, which may be waiting for rows that will not come).
            let mut bad = enc.bytes.clone();
            let n = bad.len();
            bad[n - n / 5] ^= 0x5a;
            for threads in [3, 6] {
                let opts = DecodeOptions {
                    threads,
                    ..Default::default()
                };
                assert!(decode(&bad, engine, &opts).is_err(), "{threads} threads");
            }
        }
    }
}

/// The substreams asked for (at most one a row) are what the file has, and it decodes on any
/// threads; a multi-scale model (one stream) refuses more than one, clearly.
#[test]
fn asked_substreams_are_written_and_decode() {
    let img = smooth_image(7, 20, 1, 3);
    let engine = tiny_engine(1, 4);
    for (asked, got) in [(1, 1), (5, 5), (20, 20), (64, 20)] {
        let opts = EncodeOptions {
            mode: ModeChoice::Model,
            substreams: Some(asked),
            ..Default::default()
        };
        let enc = encode(&img, &engine, &opts).unwrap();
        assert_eq!(enc.header.substreams(&enc.bytes).unwrap(), Some(got), "{asked} asked");
        for threads in [1, 2, 3] {
            let opts = DecodeOptions {
                threads,
                ..Default::default()
            };
            assert_eq!(
                decode(&enc.bytes, &engine, &opts).unwrap(),
                img,
                "{asked} asked, {threads} threads"
            );
        }
    }
    let opts = EncodeOptions {
        mode: ModeChoice::Model,
        substreams: Some(2),
        ..Default::default()
    };
    let ms = tiny_multiscale_engine(Arch::PixelCnn, Arch::PixelCnn, 2, 1, 5);
    let err = encode(&smooth_image(8, 8, 1, 3), &ms, &opts).unwrap_err().to_string();
    assert!(err.contains("multi-scale"), "{err}");
    for bad in [0, 65] {
        let opts = EncodeOptions {
            mode: ModeChoice::Model,
            substreams: Some(bad),
            ..Default::default()
        };
        assert!(encode(&img, &engine, &opts).is_err(), "{bad}");
    }
}

/// `img` model-coded in format `version` by `engine` on two threads, over `substreams` (None:
/// the encoder's choice).
fn model_coded(
    engine: &Engine,
    img: &pixelrnn_codec::Image,
    version: u8,
    substreams: Option<usize>,
) -> pixelrnn_codec::Encoded {
    let opts = EncodeOptions {
        mode: ModeChoice::Model,
        substreams,
        threads: 2,
        version,
        ..Default::default()
    };
    encode(img, engine, &opts).unwrap()
}

/// By default the encoder spreads 600 rows (513 to 1024) over two substreams, unless one
/// substream makes a cheap image (under 2 bits a sub-pixel) at least 1 % smaller: then the file
/// is the one-substream file, byte for byte. Costly images (noise) keep the spread. Format
/// version 7 (raster order; version 8's trial: [`version_8_tries_one_substream_of_eight_lanes`]).
#[test]
fn default_substreams_become_one_where_that_is_worth_it() {
    use pixelrnn_tests::{random_image, ui_image};
    let engine = tiny_engine(3, 4);
    let with = |img: &pixelrnn_codec::Image, substreams| model_coded(&engine, img, 7, substreams);
    let ui = ui_image(12, 600, 3, 5);
    let (auto, two, one) = (with(&ui, None), with(&ui, Some(2)), with(&ui, Some(1)));
    assert!(
        two.header.bits_per_subpixel() < 2.0,
        "{}",
        two.header.bits_per_subpixel()
    );
    assert!(
        one.header.payload_len * 100 <= two.header.payload_len * 99,
        "the test image must gain from one substream: {} against {}",
        one.header.payload_len,
        two.header.payload_len
    );
    assert_eq!(auto.bytes, one.bytes);
    assert_eq!(auto.header.substreams(&auto.bytes).unwrap(), Some(1));
    assert_eq!(decode(&auto.bytes, &engine, &DecodeOptions::default()).unwrap(), ui);
    let noise = random_image(12, 600, 3, 6);
    let (auto, two) = (with(&noise, None), with(&noise, Some(2)));
    assert!(two.header.bits_per_subpixel() >= 2.0);
    assert_eq!(auto.bytes, two.bytes);
    // Up to 512 rows there is one substream, whatever the image (it decodes on two threads).
    for small in [ui_image(12, 300, 3, 5), random_image(12, 512, 3, 6)] {
        assert_eq!(with(&small, None).bytes, with(&small, Some(1)).bytes);
    }
}

/// Version 8's default tries one substream of eight lanes beside the spread's two of four, and
/// keeps it where it is at least 1 % smaller: the file `--substreams 1` writes, byte for byte;
/// noise keeps two substreams of four lanes; a small image has one of eight.
#[test]
fn version_8_tries_one_substream_of_eight_lanes() {
    use pixelrnn_tests::{random_image, ui_image};
    let engine = tiny_engine(3, 4);
    let with = |img: &pixelrnn_codec::Image, substreams| model_coded(&engine, img, 8, substreams);
    let spread = |e: &pixelrnn_codec::Encoded| e.header.spread(&e.bytes).unwrap().unwrap();
    let ui = ui_image(12, 600, 3, 5);
    let (auto, two, one) = (with(&ui, None), with(&ui, Some(2)), with(&ui, Some(1)));
    assert_eq!((spread(&two).substreams, spread(&two).lanes), (2, 4));
    assert_eq!((spread(&one).substreams, spread(&one).lanes), (1, 8));
    assert!(
        one.header.payload_len * 100 <= two.header.payload_len * 99,
        "the test image must gain from one substream: {} against {}",
        one.header.payload_len,
        two.header.payload_len
    );
    assert_eq!(auto.bytes, one.bytes);
    assert_eq!(decode(&auto.bytes, &engine, &DecodeOptions::default()).unwrap(), ui);
    let noise = random_image(12, 600, 3, 6);
    let (auto, two) = (with(&noise, None), with(&noise, Some(2)));
    assert_eq!(auto.bytes, two.bytes);
    let small = with(&random_image(12, 100, 3, 6), None);
    assert_eq!((spread(&small).substreams, spread(&small).lanes), (1, 8));
}

//! Format version 8's lanes (rows of a substream coded in step): every architecture with a row
//! form and every channel layout round-trips on any thread count, to the image version 7 gives;
//! the plain coding's size does not depend on the order; damaged lanes are clear errors.

use pixelrnn_codec::{decode, encode, DecodeOptions, EncodeOptions, ModeChoice, ProbabilityModel};
use pixelrnn_model::{Arch, Config, Engine};
use pixelrnn_tests::{decodes_on_any_threads, smooth_image, tiny_engine, tiny_multiscale_engine};

fn opts(version: u8, substreams: usize, adapt: bool) -> EncodeOptions<'static> {
    EncodeOptions {
        version,
        adapt,
        mode: ModeChoice::Model,
        threads: 2,
        substreams: Some(substreams),
        ..Default::default()
    }
}

/// Every architecture with a row form (PixelCNN, Row LSTM), softmax and mixture heads, 1 to 4 channels, one, two and
/// four substreams (8, 4 and 2 lanes) and three (2 lanes, a block of 6), on heights that end in
/// a partial block and widths narrower than the lanes' delays.
#[test]
fn lanes_round_trip_every_architecture_and_layout() {
    let engines = [
        tiny_engine(3, 11),
        Engine::random(&Config::pixel_cnn(3, 6, 1, 8).with_arch(Arch::RowLstm), 12).unwrap(),
        Engine::random(&Config::pixel_cnn(3, 8, 3, 8), 13).unwrap(),
        Engine::random(&Config::pixel_cnn(3, 6, 1, 8).with_mixture(3), 14).unwrap(),
    ];
    for (i, engine) in engines.iter().enumerate() {
        let lag = engine.row_lag().unwrap_or_else(|| panic!("engine {i}: a row form"));
        for (w, h, nsub) in [(9, 21, 1), (3, 19, 2), (12, 13, 3), (5, 30, 4)] {
            let img = smooth_image(w, h, 3, 20 + i as u64);
            for adapt in [false, true] {
                let enc = encode(&img, engine, &opts(8, nsub, adapt)).unwrap();
                let sp = enc.header.spread(&enc.bytes).unwrap().unwrap();
                let slack = if nsub > 1 { pixelrnn_codec::lanes::SLACK } else { 0 };
                assert_eq!((sp.substreams, sp.lanes, sp.delay), (nsub, 8 / nsub, lag + 2 + slack));
                let what = format!("engine {i}, {w}×{h}, {nsub} substreams, adaptive {adapt}");
                decodes_on_any_threads(&enc.bytes, engine, &img, &what);
                let v7 = encode(&img, engine, &opts(7, nsub, adapt)).unwrap();
                decodes_on_any_threads(&v7.bytes, engine, &img, &what);
                if !adapt {
                    // The same probabilities in another order: the same size, give or take the
                    // range coders' last words.
                    let (a, b) = (enc.header.payload_len as i64, v7.header.payload_len as i64);
                    assert!((a - 2 - b).abs() <= 8 * nsub as i64, "{what}: {a} vs {b}");
                }
            }
        }
    }
    for (ch, seed) in [(1, 1), (2, 2), (4, 3)] {
        let engine = tiny_engine(ch, 30 + seed);
        let img = smooth_image(7, 17, ch as u8, seed);
        let enc = encode(&img, &engine, &opts(8, 1, true)).unwrap();
        assert_eq!(enc.header.spread(&enc.bytes).unwrap().unwrap().lanes, 8);
        decodes_on_any_threads(&enc.bytes, &engine, &img, &format!("{ch} channels"));
    }
}

/// Models without a row form (multi-scale, gated PixelCNN, Diagonal BiLSTM) keep one lane in
/// version 8.
#[test]
fn models_without_rows_keep_raster_order() {
    let ms = tiny_multiscale_engine(Arch::PixelCnn, Arch::PixelCnn, 2, 1, 5);
    let img = smooth_image(8, 8, 1, 3);
    let enc = encode(&img, &ms, &opts(8, 1, false)).unwrap();
    let sp = enc.header.spread(&enc.bytes).unwrap().unwrap();
    assert_eq!((sp.substreams, sp.lanes, sp.delay), (1, 1, 0));
    decodes_on_any_threads(&enc.bytes, &ms, &img, "multi-scale");
    for arch in [Arch::GatedPixelCnn, Arch::DiagonalBilstm] {
        let engine = Engine::random(&Config::pixel_cnn(1, 6, 1, 8).with_arch(arch), 6).unwrap();
        let enc = encode(&img, &engine, &opts(8, 2, true)).unwrap();
        let sp = enc.header.spread(&enc.bytes).unwrap().unwrap();
        assert_eq!((sp.substreams, sp.lanes), (2, 1), "{arch:?}");
        decodes_on_any_threads(&enc.bytes, &engine, &img, &format!("{arch:?}"));
    }
}

/// Lanes a file cannot have, or a delay too short for the model, are errors that say so, on any
/// thread count.
#[test]
fn damaged_lanes_are_clear_errors() {
    let engine = tiny_engine(3, 5);
    let img = smooth_image(6, 16, 3, 4);
    let enc = encode(&img, &engine, &opts(8, 2, true)).unwrap();
    let at = enc.header.header_len();
    assert_eq!(enc.bytes[at..at + 2], [2, 4], "two substreams of four lanes");
    let lag = engine.row_lag().unwrap();
    for (k, v, says) in [
        (1, 5, "rows in a block"),
        (1, 0, "at least one lane"),
        (2, (lag + 1) as u8, "a delay of at least"),
    ] {
        let mut bad = enc.bytes.clone();
        bad[at + k] = v;
        // The header's CRC covers the header only: the payload's table is what is damaged.
        for threads in [1, 2] {
            let opts = DecodeOptions {
                threads,
                ..Default::default()
            };
            let err = decode(&bad, &engine, &opts).unwrap_err().to_string();
            assert!(err.contains(says), "{k}={v}: {err}");
        }
    }
    // A damaged payload of one substream decoded on two threads (one decoding, one computing
    // the model's steps): an error, on every damaged byte, never a hang.
    let one = encode(&img, &engine, &opts(12, 1, true)).unwrap();
    let at = one.header.header_len();
    for i in (at + 4..one.bytes.len()).step_by(7) {
        let mut bad = one.bytes.clone();
        bad[i] ^= 0x21;
        let opts = DecodeOptions {
            threads: 2,
            ..Default::default()
        };
        assert!(decode(&bad, &engine, &opts).is_err(), "byte {i}");
    }
}

/// The encoder codes a block's substreams on up to `threads` threads, each with its own state
/// and coder: the bytes are the same on any number of threads, with and without the trial of
/// one substream, and for more substreams than threads.
#[test]
fn encoder_threads_do_not_change_the_bytes() {
    let engine = tiny_engine(3, 7);
    let img = smooth_image(11, 37, 3, 9);
    for nsub in [None, Some(2), Some(3), Some(4)] {
        let bytes: Vec<Vec<u8>> = [1, 2, 3, 5]
            .into_iter()
            .map(|threads| {
                let o = EncodeOptions {
                    threads,
                    substreams: nsub,
                    ..opts(8, 1, true)
                };
                encode(&img, &engine, &o).unwrap().bytes
            })
            .collect();
        for (i, b) in bytes.iter().enumerate() {
            assert_eq!(b, &bytes[0], "{nsub:?} substreams, the {i}th thread count");
        }
        decodes_on_any_threads(&bytes[0], &engine, &img, &format!("{nsub:?} substreams"));
    }
}

//! Format version 10's binary stage: the adaptive coding's distribution coded down a tree of its
//! levels, each split refined per node. Files round-trip in every layout, on any thread count,
//! in lanes and in raster order (the sequential decoder), and are smaller than version 9's where
//! the model's distribution keeps missing the same thing (a palette it spreads probability
//! around), with either output head; version 9 files are unchanged.

use pixelrnn_codec::{encode, Image};
use pixelrnn_model::{Arch, Config, Engine};
use pixelrnn_tests::{decodes_on_any_threads, model_opts, phase_image, tiny_engine, two_versions, ui_image};

fn both(img: &Image, model: &Engine, substreams: Option<usize>, what: &str) -> (usize, usize) {
    let (v10, v9) = two_versions(img, model, (10, 9), substreams, what);
    assert!(v10.header.adaptive(), "{what}: the adaptive coding should be kept");
    (v10.bytes.len(), v9.bytes.len())
}

/// Screenshots (a few colours that a small random model spreads its probability around) in
/// every channel count: the tables learn where the values are.
#[test]
fn screenshots_code_smaller_through_the_binary_stage_and_round_trip() {
    for c in 1..=4u8 {
        let img = ui_image(48, 40, c, 20 + c as u64);
        let model = tiny_engine(c as usize, 4);
        for substreams in [None, Some(1), Some(3)] {
            let what = format!("screenshot, {c} channel(s), substreams {substreams:?}");
            let (v10, v9) = both(&img, &model, substreams, &what);
            assert!(v10 < v9, "{what}: version 10 {v10} bytes, version 9 {v9}");
        }
    }
}

/// The phase stages (version 9's flag) and the binary stage together, in lanes.
#[test]
fn phase_patterned_images_round_trip_with_both_stages() {
    for c in [1u8, 3] {
        let img = phase_image(64, 48, c, 40 + c as u64);
        let model = tiny_engine(c as usize, 5);
        let enc = encode(&img, &model, &model_opts(10, Some(1))).unwrap();
        assert!(enc.header.adaptive() && enc.header.phases(), "{c} channel(s)");
        decodes_on_any_threads(&enc.bytes, &model, &img, &format!("phase image, {c} channel(s)"));
    }
}

/// Models without a row form decode in raster order through the sequential decoder.
#[test]
fn the_binary_stage_decodes_in_raster_order() {
    let img = ui_image(40, 32, 3, 9);
    for arch in [Arch::GatedPixelCnn, Arch::DiagonalBilstm] {
        let engine = Engine::random(&Config::pixel_cnn(3, 6, 1, 8).with_arch(arch), 6).unwrap();
        for substreams in [Some(1), Some(2)] {
            let what = format!("{arch:?}, substreams {substreams:?}");
            both(&img, &engine, substreams, &what);
        }
    }
}

/// The logistic-mixture head (its quantised probabilities mixed, then coded down the tree)
/// round-trips too, in every channel count.
#[test]
fn the_mixture_head_through_the_binary_stage() {
    for c in 1..=4u8 {
        let engine = Engine::random(&Config::pixel_cnn(c as usize, 6, 2, 12).with_mixture(5), 70 + c as u64).unwrap();
        let img = ui_image(36, 28, c, 30 + c as u64);
        both(&img, &engine, None, &format!("mixture head, {c} channel(s)"));
    }
}

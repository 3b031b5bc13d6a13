//! Format version 9's context stage per pixel phase: the encoder chooses it for an image whose
//! statistics depend on the phase (y mod 2, x mod 2), and the file decodes on any thread count,
//! in lanes and in raster order; elsewhere it keeps version 8's coding, payload for payload;
//! the phase flag where it cannot be is a clear error.

use pixelrnn_codec::{encode, Header, Image, Limits, ProbabilityModel};
use pixelrnn_model::{Arch, Config, Engine};
use pixelrnn_tests::{model_opts, phase_image, tiny_engine, two_versions, ui_image};

/// The payload: the file's last `payload_len` bytes.
fn payload(bytes: &[u8], h: &Header) -> Vec<u8> {
    bytes[bytes.len() - h.payload_len as usize..].to_vec()
}

fn sizes(img: &Image, model: &dyn ProbabilityModel, substreams: Option<usize>, what: &str) -> (usize, usize) {
    let (v9, v8) = two_versions(img, model, (9, 8), substreams, what);
    assert!(
        v9.header.adaptive() && v9.header.phases(),
        "{what}: the phase stages should be chosen ({:#x}, {} / {} bytes)",
        v9.header.flags,
        v9.bytes.len(),
        v8.bytes.len()
    );
    (v9.bytes.len(), v8.bytes.len())
}

#[test]
fn phase_patterned_images_choose_the_phase_stages_and_round_trip() {
    for c in 1..=4u8 {
        let img = phase_image(64, 48, c, 7 + c as u64);
        let model = tiny_engine(c as usize, 3);
        for substreams in [None, Some(1), Some(3)] {
            let what = format!("{c} channel(s), substreams {substreams:?}");
            let (v9, v8) = sizes(&img, &model, substreams, &what);
            assert!(v9 < v8, "{what}: version 9 {v9} bytes, version 8 {v8}");
        }
    }
}

/// Models without a row form decode in raster order, with one adaptive state per substream
/// (the sequential decoder on one thread; with three substreams, rows of both parities in
/// each).
#[test]
fn the_phase_stages_decode_in_raster_order() {
    let img = phase_image(64, 64, 1, 2);
    for arch in [Arch::GatedPixelCnn, Arch::DiagonalBilstm] {
        let engine = Engine::random(&Config::pixel_cnn(1, 6, 1, 8).with_arch(arch), 6).unwrap();
        for substreams in [Some(1), Some(3)] {
            sizes(
                &img,
                &engine,
                substreams,
                &format!("{arch:?}, substreams {substreams:?}"),
            );
        }
    }
}

/// Where the phase stages do not gain, version 9 codes exactly what version 8 codes.
#[test]
fn without_the_pattern_version_9_codes_version_8s_payload() {
    for c in [1u8, 3] {
        let img = ui_image(80, 64, c, 5);
        let model = tiny_engine(c as usize, 4);
        for substreams in [None, Some(1), Some(2)] {
            let v9 = encode(&img, &model, &model_opts(9, substreams)).unwrap();
            let v8 = encode(&img, &model, &model_opts(8, substreams)).unwrap();
            assert!(!v9.header.phases(), "{c} channel(s), {substreams:?}");
            assert_eq!(payload(&v9.bytes, &v9.header), payload(&v8.bytes, &v8.header));
        }
    }
}

/// The phase flag in a version 8 file, or without the adaptive coding, is refused with a
/// message that says so.
#[test]
fn the_phase_flag_where_it_cannot_be_is_an_error() {
    let img = phase_image(32, 32, 1, 1);
    let model = tiny_engine(1, 3);
    let enc = encode(&img, &model, &model_opts(9, None)).unwrap();
    assert!(enc.header.phases());
    let body = payload(&enc.bytes, &enc.header);
    for (version, flags, want) in [(8u8, 0x18u8, "flags"), (9, 0x10, "phase flag")] {
        let h = Header {
            version,
            flags,
            ..enc.header.clone()
        };
        let mut bytes = h.to_bytes();
        bytes.extend_from_slice(&body);
        let err = Header::parse(&bytes, &Limits::default()).unwrap_err().to_string();
        assert!(err.contains(want), "version {version}, flags {flags:#x}: {err}");
    }
}

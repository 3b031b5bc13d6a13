//! The alpha split (a model of the colour channels for the colour, a model of every channel
//! for the alpha): round trips on every path (batch, rows side by side, sequential), bytes
//! independent of the thread count, the distributions it hands the coder, and clear errors
//! with the wrong model.

use pixelrnn_codec::{decode, encode, AlphaSplit, DecodeOptions, EncodeOptions, Image, ModeChoice, ProbabilityModel};
use pixelrnn_model::defaults::alpha_split_id;
use pixelrnn_model::{Arith, Config, Engine};
use pixelrnn_tests::{smooth_image, tiny_engine, tiny_multiscale_engine};

/// An image with a cut-out alpha: clear, opaque and soft-edged parts.
fn cut_out(w: u32, h: u32, c: u8, seed: u64) -> Image {
    let mut img = smooth_image(w, h, c, seed);
    let c = c as usize;
    for (i, p) in img.pixels.chunks_exact_mut(c).enumerate() {
        let (x, y) = ((i % w as usize) as i64, (i / w as usize) as i64);
        let d = (x - w as i64 / 2).pow(2) + (y - h as i64 / 3).pow(2);
        p[c - 1] = (255 - d.min(255)) as u8;
    }
    img
}

fn opts(threads: usize, adapt: bool) -> EncodeOptions<'static> {
    EncodeOptions {
        threads,
        adapt,
        mode: ModeChoice::Model,
        ..Default::default()
    }
}

/// Decodes `bytes` with `model` on 1, 2 and 3 threads: `img` every time.
fn decodes_on_any_threads(bytes: &[u8], model: &dyn ProbabilityModel, img: &Image, what: &str) {
    for threads in [1, 2, 3] {
        let opts = DecodeOptions {
            threads,
            ..Default::default()
        };
        assert_eq!(decode(bytes, model, &opts).unwrap(), *img, "{what}, {threads} threads");
    }
}

#[test]
fn splits_round_trip_on_every_path_whatever_the_threads() {
    let pairs = [
        (tiny_engine(1, 31), tiny_engine(2, 34)),
        (tiny_engine(3, 32), tiny_engine(4, 35)),
        (
            Engine::random(&Config::pixel_cnn(3, 4, 1, 8).with_mixture(3), 33).unwrap(),
            Engine::random(&Config::pixel_cnn(4, 4, 1, 8).with_mixture(2), 36).unwrap(),
        ),
    ];
    for (colour, alpha) in pairs {
        let cc = colour.channels();
        let split = AlphaSplit::new(colour, alpha).unwrap();
        assert_eq!(split.channels(), cc + 1);
        // 530 rows: two substreams, decoded side by side or in sequence.
        let img = cut_out(7, 530, cc as u8 + 1, 5 + cc as u64);
        for adapt in [true, false] {
            let one = encode(&img, &split, &opts(1, adapt)).unwrap();
            assert_eq!(one.header.model_id, split.id());
            assert_eq!(one.header.adaptive(), adapt);
            for threads in [2, 3] {
                let enc = encode(&img, &split, &opts(threads, adapt)).unwrap();
                assert!(
                    enc.bytes == one.bytes,
                    "{cc}+1 channels: {threads} threads give other bytes"
                );
            }
            decodes_on_any_threads(&one.bytes, &split, &img, &format!("{cc}+1 channels, adaptive {adapt}"));
        }
    }
}

#[test]
fn the_colour_gets_the_colour_models_distributions_and_the_alpha_the_alpha_models() {
    let (colour, alpha) = (tiny_engine(3, 41), tiny_engine(4, 42));
    let img = cut_out(6, 5, 4, 2);
    let rgb: Vec<u8> = img.pixels.chunks_exact(4).flat_map(|p| p[..3].to_vec()).collect();
    let dists = |e: &Engine, px: &[u8]| {
        let mut all = Vec::new();
        e.batch_with(Arith::fma(), px, 6, 5, 1, |d, v| {
            let mut p = vec![0.0; 256];
            d.probs_into(&mut p);
            all.push((p, v));
            Ok::<(), pixelrnn_model::ModelError>(())
        })
        .unwrap();
        all
    };
    let want = dists(&colour, &rgb);
    let want_alpha = dists(&alpha, &img.pixels);
    let split = AlphaSplit::new(colour, alpha).unwrap();
    let mut got = Vec::new();
    split
        .batch(Arith::fma(), &img.pixels, 6, 5, 2, &mut |d, v| {
            let mut p = vec![0.0; 256];
            d.probs_into(&mut p);
            got.push((p, v));
            Ok(())
        })
        .unwrap();
    assert_eq!(got.len(), img.pixels.len());
    let mut colours = want.into_iter();
    for (i, (p, v)) in got.into_iter().enumerate() {
        assert_eq!(v, img.pixels[i]);
        if i % 4 == 3 {
            assert!((p, v) == want_alpha[i], "alpha at {i}");
        } else {
            assert!((p, v) == colours.next().unwrap(), "colour at {i}");
        }
    }
    // The sequential form gives the same distributions.
    let mut seq = split.sequential(Arith::fma(), 6, 5);
    let mut p = vec![0.0; 256];
    for (i, &v) in img.pixels.iter().enumerate().take(16) {
        seq.next_dist().probs_into(&mut p);
        if i % 4 == 3 {
            assert!(p == want_alpha[i].0, "alpha at {i}");
        }
        seq.push(v);
    }
}

#[test]
fn a_split_has_its_own_id_and_needs_raster_order_models_of_the_right_channels() {
    let (colour, alpha) = (tiny_engine(3, 51), tiny_engine(4, 54));
    let ids = (colour.id(), alpha.id());
    let split = AlphaSplit::new(colour, alpha).unwrap();
    assert_eq!(split.id(), alpha_split_id(&ids.0, &ids.1));
    assert_ne!(split.id(), ids.0);
    assert!(
        AlphaSplit::new(tiny_engine(3, 52), tiny_engine(3, 55)).is_none(),
        "no alpha"
    );
    assert!(
        AlphaSplit::new(tiny_engine(2, 52), tiny_engine(3, 55)).is_none(),
        "2 + 1 channels"
    );
    assert!(
        AlphaSplit::new(tiny_engine(1, 52), tiny_engine(3, 55)).is_none(),
        "1 + 2 channels"
    );
    let ms = tiny_multiscale_engine(pixelrnn_model::Arch::PixelCnn, pixelrnn_model::Arch::PixelCnn, 2, 3, 53);
    let why = "a multi-scale model does not code in raster order";
    assert!(AlphaSplit::new(ms, tiny_engine(4, 56)).is_none(), "{why}");
}

#[test]
fn the_wrong_model_is_a_clear_error() {
    let colour = tiny_engine(3, 61);
    let rgba = tiny_engine(4, 62);
    let img = cut_out(5, 4, 4, 3);
    let split = AlphaSplit::new(colour, tiny_engine(4, 62)).unwrap();
    let enc = encode(&img, &split, &opts(1, true)).unwrap();
    let err = decode(&enc.bytes, &rgba, &DecodeOptions::default()).unwrap_err();
    assert!(err.to_string().contains("model"), "{err}");
    let plain = encode(&img, &rgba, &opts(1, true)).unwrap();
    assert!(decode(&plain.bytes, &split, &DecodeOptions::default()).is_err());
    // A 3-channel image is not the split's (it codes four).
    let rgb = smooth_image(5, 4, 3, 1);
    assert!(encode(&rgb, &split, &opts(1, true)).is_err());
}

/// The built-in splits (#6: #3 + #4 on 16×24, #7: #5 + #2 on 6×520: two substreams) on
/// cut-outs, encoded on one and three threads and decoded on one to three: pinned bytes. `scripts/check`
/// runs it on every kernel path, `scripts/cross-aarch64` under qemu.
#[test]
fn golden_v7_alpha_split() {
    use pixelrnn_model::defaults::{builtin_engine, builtin_id, default_split};
    use sha2::{Digest, Sha256};
    let mut got = Vec::new();
    for (channels, index, (w, h)) in [(4, 6, (16, 24)), (2, 7, (6, 520))] {
        let (i, colour, alpha) = default_split(channels).unwrap();
        assert_eq!(i, index);
        let split = AlphaSplit::new(
            builtin_engine(colour).unwrap().unwrap(),
            builtin_engine(alpha).unwrap().unwrap(),
        )
        .unwrap();
        assert_eq!(Some(split.id()), builtin_id(index));
        let img = cut_out(w, h, channels as u8, 70 + channels as u64);
        let one = encode(&img, &split, &opts(1, true)).unwrap();
        assert_eq!(one.header.builtin, Some(index));
        assert!(encode(&img, &split, &opts(3, true)).unwrap().bytes == one.bytes);
        decodes_on_any_threads(&one.bytes, &split, &img, &format!("#{index}"));
        got.push(pixelrnn_model::id_hex(&Sha256::digest(&one.bytes).into()));
    }
    assert_eq!(
        got,
        [
            "428e0e91a1d66edf0f698341835b39bd6b4b51293903d505bdfbe3df545eb05b",
            "7275715f42574c5f114066618a32fa53f04c063e131e1eeb068c61d2f595f8dc",
        ]
    );
}

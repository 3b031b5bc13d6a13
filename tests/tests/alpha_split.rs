//! The alpha split (a model of the colour channels for the colour, a model of every channel
//! for the alpha): round trips on every path (batch, rows side by side, sequential), bytes
//! independent of the thread count, the distributions it hands the coder, and clear errors
//! with the wrong model.

use pixelrnn_codec::{decode, encode, AlphaSplit, DecodeOptions, EncodeOptions, Image, ModeChoice, ProbabilityModel};
use pixelrnn_model::defaults::alpha_split_id;
use std::sync::Mutex;

use pixelrnn_model::{Arch, Arith, Config, Dist, Engine};
use pixelrnn_tests::{decodes_on_any_threads, smooth_image, tiny_arch_engine, tiny_engine, tiny_multiscale_engine};

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

/// Every sub-pixel's distribution (its probabilities' bits) and value, from `batch_with`.
fn engine_dists(e: &Engine, px: &[u8], (w, h): (usize, usize)) -> Vec<(Vec<u32>, u8)> {
    let mut all = Vec::new();
    e.batch_with(Arith::fma(), px, w, h, 1, |d, v| {
        all.push((bits(d), v));
        Ok::<(), pixelrnn_model::ModelError>(())
    })
    .unwrap();
    all
}

fn bits(d: Dist<'_>) -> Vec<u32> {
    let mut p = vec![0.0f32; 256];
    d.probs_into(&mut p);
    p.iter().map(|x| x.to_bits()).collect()
}

/// The split's distributions from `batch` and from `batch_rows` on 1–3 threads: the colour
/// model's for the colour, the alpha model's for the alpha, bit for bit, whether the alpha
/// model computes its rows in batch mode (a row wave) or incrementally (a Diagonal BiLSTM
/// and a gated PixelCNN, whose rows need whole rows above them). A Row LSTM colour model.
#[test]
fn the_colour_gets_the_colour_models_distributions_and_the_alpha_the_alpha_models() {
    let pairs = [
        (tiny_engine(3, 41), tiny_engine(4, 42)),
        (
            Engine::random(&Config::pixel_cnn(3, 4, 1, 8).with_mixture(3), 43).unwrap(),
            Engine::random(&Config::pixel_cnn(4, 4, 1, 8).with_mixture(2), 44).unwrap(),
        ),
        (tiny_engine(1, 45), tiny_arch_engine(Arch::DiagonalBilstm, 2, 46)),
        (
            tiny_arch_engine(Arch::RowLstm, 3, 47),
            tiny_arch_engine(Arch::GatedPixelCnn, 4, 48),
        ),
    ];
    // Wider than a block of positions, so rows wait on each other mid-row.
    let (w, h) = (37, 6);
    for (k, (colour, alpha)) in pairs.into_iter().enumerate() {
        let n = alpha.channels();
        let img = cut_out(w as u32, h as u32, n as u8, 2 + k as u64);
        let cp: Vec<u8> = img.pixels.chunks_exact(n).flat_map(|p| p[..n - 1].to_vec()).collect();
        let mut colours = engine_dists(&colour, &cp, (w, h)).into_iter();
        let alphas = engine_dists(&alpha, &img.pixels, (w, h));
        let want: Vec<_> = (0..img.pixels.len())
            .map(|i| {
                if i % n == n - 1 {
                    alphas[i].clone()
                } else {
                    colours.next().unwrap()
                }
            })
            .collect();
        let split = AlphaSplit::new(colour, alpha).unwrap();
        let mut got = Vec::new();
        split
            .batch(Arith::fma(), &img.pixels, w, h, 2, &mut |d, v| {
                got.push((bits(d), v));
                Ok(())
            })
            .unwrap();
        assert!(got == want, "pair {k}: batch");
        for threads in [1, 2, 3] {
            let rows = Mutex::new(vec![Vec::new(); h]);
            let r = split.batch_rows(Arith::fma(), &img.pixels, w, h, threads, &|y, dists| {
                let mut row = Vec::new();
                dists.for_each(&mut |d, v| {
                    row.push((bits(d), v));
                    Ok(())
                })?;
                rows.lock().unwrap()[y] = row;
                Ok(())
            });
            // Without a row wave for the alpha model there are no rows side by side (the
            // encoder then uses `batch`).
            let Some(r) = r else {
                assert!(k >= 2, "pair {k}: no rows");
                continue;
            };
            r.unwrap();
            assert!(
                rows.into_inner().unwrap().concat() == want,
                "pair {k}: rows, {threads} threads"
            );
        }
    }
    let (colour, alpha) = (tiny_engine(3, 41), tiny_engine(4, 42));
    let img = cut_out(6, 5, 4, 2);
    let want_alpha = engine_dists(&alpha, &img.pixels, (6, 5));
    let split = AlphaSplit::new(colour, alpha).unwrap();
    // The sequential form gives the same distributions.
    let mut seq = split.sequential(Arith::fma(), 6, 5);
    for (i, &v) in img.pixels.iter().enumerate().take(16) {
        let d = seq.next_dist();
        if i % 4 == 3 {
            assert!(bits(d) == want_alpha[i].0, "alpha at {i}");
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
/// cut-outs, encoded on one and three threads and decoded on one to three: pinned bytes of
/// format version 7 (rows in raster order) and 8 (lanes: one substream of eight rows in step on
/// 16×24, two of four on 6×520). `scripts/check` runs it on every kernel path,
/// `scripts/cross-aarch64` under qemu.
#[test]
fn golden_v7_alpha_split() {
    assert_eq!(
        split_files(7),
        [
            "428e0e91a1d66edf0f698341835b39bd6b4b51293903d505bdfbe3df545eb05b",
            "7275715f42574c5f114066618a32fa53f04c063e131e1eeb068c61d2f595f8dc",
        ]
    );
}

#[test]
fn golden_v8_alpha_split() {
    assert_eq!(
        split_files(8),
        [
            "9f03d8a1274af438e57bd4e279564ce1102ee5451ccbacdf232ca5942ce0dfd5",
            "1231a601d3ed85380d92100c379b81e5d79b3bb69a929cc288076084382242f7",
        ]
    );
}

/// The SHA-256 of the two built-in splits' files in format `version`, checked as
/// [`golden_v7_alpha_split`] says.
fn split_files(version: u8) -> Vec<String> {
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
        // The spread the golden files were made with (the encoder's default for these heights,
        // pinned: it may keep one substream, or change).
        let spread = |threads| EncodeOptions {
            substreams: Some(1 + h as usize / 512),
            version,
            ..opts(threads, true)
        };
        let one = encode(&img, &split, &spread(1)).unwrap();
        assert_eq!((one.header.builtin, one.header.version), (Some(index), version));
        let nsub = 1 + h as usize / 512;
        let lanes = if version >= 8 { 8 / nsub } else { 1 };
        let sp = one.header.spread(&one.bytes).unwrap().unwrap();
        assert_eq!((sp.substreams, sp.lanes), (nsub, lanes));
        assert!(encode(&img, &split, &spread(3)).unwrap().bytes == one.bytes);
        decodes_on_any_threads(&one.bytes, &split, &img, &format!("#{index}"));
        got.push(pixelrnn_model::id_hex(&Sha256::digest(&one.bytes).into()));
    }
    got
}

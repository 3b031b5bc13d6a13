//! Helpers shared by the integration tests: seeded images and small seeded models.

use pixelrnn_codec::{decode, encode, DecodeOptions, EncodeOptions, Encoded, Image, ModeChoice, ProbabilityModel};

pub mod golden;
use pixelrnn_model::{rng::SplitMix64, Arch, Config, Engine};

/// A small PixelCNN with seeded random weights.
pub fn tiny_engine(channels: usize, seed: u64) -> Engine {
    Engine::random(&Config::pixel_cnn(channels, 4, 2, 8), seed).expect("valid config")
}

/// A small model of any architecture with seeded random weights.
pub fn tiny_arch_engine(arch: Arch, channels: usize, seed: u64) -> Engine {
    Engine::random(&Config::pixel_cnn(channels, 4, 2, 8).with_arch(arch), seed).expect("valid config")
}

/// A small multi-scale model: a conditional network of `arch` over the full image and a small
/// network of `small` over every `k`-th pixel, with seeded random weights.
pub fn tiny_multiscale_engine(arch: Arch, small: Arch, k: usize, channels: usize, seed: u64) -> Engine {
    let config = Config {
        multiscale: Some(pixelrnn_model::MultiScale {
            factor: k,
            features: 4,
            small_arch: small,
            small_hidden: 4,
            small_layers: 1,
            small_out_hidden: 8,
        }),
        ..Config::pixel_cnn(channels, 4, 2, 8).with_arch(arch)
    };
    Engine::random(&config, seed).expect("valid config")
}

/// Uniformly random pixels.
pub fn random_image(w: u32, h: u32, c: u8, seed: u64) -> Image {
    let mut rng = SplitMix64::new(seed);
    let px = (0..w * h * c as u32).map(|_| rng.below(256) as u8).collect();
    Image::new(w, h, c, px).expect("valid layout")
}

/// A smooth gradient with a little noise: what photos look like to a model.
pub fn smooth_image(w: u32, h: u32, c: u8, seed: u64) -> Image {
    let mut rng = SplitMix64::new(seed);
    let mut px = Vec::with_capacity((w * h * c as u32) as usize);
    for y in 0..h {
        for x in 0..w {
            for k in 0..c as u32 {
                let base = (x * 3 + y * 2 + k * 40) % 256;
                px.push((base + rng.below(4) as u32).min(255) as u8);
            }
        }
    }
    Image::new(w, h, c, px).expect("valid layout")
}

/// A flat-ish picture whose noise depends on the pixel's phase (y mod 2, x mod 2), as in the
/// photos that went through JPEG's 2×2 chroma subsampling, more strongly: what format version
/// 9's phase stages are for.
pub fn phase_image(w: u32, h: u32, c: u8, seed: u64) -> Image {
    let mut rng = SplitMix64::new(seed);
    let mut px = Vec::with_capacity((w * h * c as u32) as usize);
    for y in 0..h {
        for x in 0..w {
            let phase = (y % 2) * 2 + x % 2;
            for k in 0..c as u32 {
                let base = 60 + (x / 8 + y / 8) * 4 + k * 30;
                let v = match phase {
                    0 => base,
                    1 => base + 9 + rng.below(2) as u32,
                    2 => base + rng.below(8) as u32,
                    _ => base + 20 + rng.below(3) as u32 * 4,
                };
                px.push(v.min(255) as u8);
            }
        }
    }
    Image::new(w, h, c, px).expect("valid layout")
}

/// Sets every alpha value to 255.
pub fn make_opaque(img: &mut Image) {
    let c = img.channels as usize;
    for p in img.pixels.chunks_exact_mut(c) {
        p[c - 1] = 255;
    }
}

/// A synthetic screenshot: flat panels, lines of "text" (glyphs from a 26-letter alphabet of
/// 6×5 bitmaps, in a seeded order), a gradient rule every 32 rows and a small noisy patch: what
/// the context coding (format version 6) is for.
pub fn ui_image(w: u32, h: u32, c: u8, seed: u64) -> Image {
    let mut rng = SplitMix64::new(seed);
    let letters: Vec<u32> = (0..26).map(|_| rng.below(1 << 30) as u32).collect();
    let text: Vec<usize> = (0..4096).map(|_| rng.below(26) as usize).collect();
    let mut px = Vec::with_capacity((w * h * c as u32) as usize);
    for y in 0..h {
        for x in 0..w {
            let (panel, line) = ((x / 40 + y / 48) % 3, y % 16 >= 4 && y % 16 < 9);
            let letter = letters[text[((y / 16) * 61 + x / 7) as usize % text.len()]];
            let ink = line && x % 7 < 6 && (letter >> ((x % 7) + (y % 16 - 4) * 6)) & 1 == 1;
            let noisy = x >= w * 7 / 8 && y >= h * 7 / 8;
            for k in 0..c as u32 {
                let v = if noisy {
                    rng.below(256) as u32
                } else if y % 32 == 31 {
                    (x * 2 + k * 50) % 256
                } else if ink {
                    20 + k * 5
                } else {
                    [235, 200, 160][panel as usize] - k * 10
                };
                px.push(v as u8);
            }
        }
    }
    Image::new(w, h, c, px).expect("valid layout")
}

/// Decodes `bytes` with `model` on 1, 2, 3 and 8 threads: `img` every time (`what` names the case
/// in a failure). Threads beyond the substreams compute the model's steps for them
/// (`pipeline.rs`): 8 gives every substream of up to four a helper.
pub fn decodes_on_any_threads(bytes: &[u8], model: &dyn ProbabilityModel, img: &Image, what: &str) {
    for threads in [1, 2, 3, 8] {
        let opts = DecodeOptions {
            threads,
            ..Default::default()
        };
        assert_eq!(decode(bytes, model, &opts).unwrap(), *img, "{what}, {threads} threads");
    }
}

/// The model coding in format `version` on two threads, rows over `substreams` (None: the
/// encoder's choice).
pub fn model_opts(version: u8, substreams: Option<usize>) -> EncodeOptions<'static> {
    EncodeOptions {
        version,
        mode: ModeChoice::Model,
        threads: 2,
        substreams,
        ..Default::default()
    }
}

/// `img` model-coded in format versions `new` and `old` ([`model_opts`]), each decoded on 1–3
/// threads back to `img`: the two encodings.
pub fn two_versions(
    img: &Image,
    model: &dyn ProbabilityModel,
    (new, old): (u8, u8),
    substreams: Option<usize>,
    what: &str,
) -> (Encoded, Encoded) {
    let a = encode(img, model, &model_opts(new, substreams)).unwrap();
    let b = encode(img, model, &model_opts(old, substreams)).unwrap();
    assert_eq!((a.header.version, b.header.version), (new, old), "{what}");
    decodes_on_any_threads(&a.bytes, model, img, what);
    decodes_on_any_threads(&b.bytes, model, img, what);
    (a, b)
}

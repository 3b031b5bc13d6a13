//! Arbitrary small image + a tiny seeded model of any architecture (multi-scale ones with k = 2
//! and 3 included): encode then decode must give
//! the image back exactly, and batch and incremental mode must agree (else decoding fails).
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pixelrnn_codec::{
    decode, encode, DecodeOptions, EncodeOptions, Header, Image, Limits, MetaKind, Metadata, ModeChoice,
};
use pixelrnn_model::{Arch, Config, Engine, MultiScale};

#[derive(Arbitrary, Debug)]
struct Input {
    width: u8,
    height: u8,
    channels: u8,
    arch: u8,
    threads: u8,
    keep_alpha: bool,
    pixels: Vec<u8>,
}

fn model(arch: usize, channels: usize) -> &'static Engine {
    static M: OnceLock<Vec<Engine>> = OnceLock::new();
    let all = M.get_or_init(|| {
        let archs = [Arch::PixelCnn, Arch::RowLstm, Arch::DiagonalBilstm];
        let mut v = Vec::new();
        for a in archs {
            for c in 1..=4 {
                v.push(Engine::random(&Config::pixel_cnn(c, 4, 2, 8).with_arch(a), 7).unwrap());
            }
        }
        // Multi-scale: each architecture conditioned on the next one's small image.
        for (i, a) in archs.into_iter().enumerate() {
            for c in 1..=4 {
                let config = Config {
                    multiscale: Some(MultiScale {
                        factor: 2 + i % 2,
                        features: 3,
                        small_arch: archs[(i + 1) % 3],
                        small_hidden: 4,
                        small_layers: 1,
                        small_out_hidden: 8,
                    }),
                    ..Config::pixel_cnn(c, 4, 2, 8).with_arch(a)
                };
                v.push(Engine::random(&config, 7).unwrap());
            }
        }
        // The gated PixelCNN, and the logistic-mixture head on the PixelCNN and the gated one.
        let gated = |c| Config::pixel_cnn(c, 4, 2, 8).with_arch(Arch::GatedPixelCnn);
        for config in [
            &gated as &dyn Fn(usize) -> Config,
            &|c| Config::pixel_cnn(c, 4, 2, 8).with_mixture(3),
            &|c| gated(c).with_mixture(2),
        ] {
            for c in 1..=4 {
                v.push(Engine::random(&config(c), 7).unwrap());
            }
        }
        v
    });
    &all[arch * 4 + channels - 1]
}

fuzz_target!(|input: Input| {
    let (w, h) = (input.width as u32 % 9 + 1, input.height as u32 % 9 + 1);
    let c = input.channels % 4 + 1;
    let n = (w * h * c as u32) as usize;
    let mut px = input.pixels;
    px.resize(n, 255);
    let img = Image::new(w, h, c, px).unwrap();
    // Format 1 to 12; auto, model, classical or (versions 6 to 12) context coding; adaptive or
    // not; version 12 half the time with an ICC profile made of the pixels' bytes.
    let version = 1 + (input.threads / 4) % 12;
    let metadata = match img.pixels.get(..(input.width as usize % 40 + 1)) {
        Some(d) if version == 12 && input.keep_alpha => vec![Metadata {
            kind: MetaKind::Icc,
            data: d.to_vec(),
        }],
        _ => Vec::new(),
    };
    let mut opts = EncodeOptions {
        threads: input.threads as usize % 3 + 1,
        drop_opaque_alpha: !input.keep_alpha,
        progress: None,
        version,
        mode: match (input.threads / 8) % 4 {
            0 => ModeChoice::Auto,
            1 => ModeChoice::Model,
            2 => ModeChoice::Classical,
            _ if version >= 6 => ModeChoice::Context,
            _ => ModeChoice::Auto,
        },
        adapt: input.threads / 32 % 2 == 0,
        substreams: None,
        metadata: &metadata,
    };
    let m = model(
        input.arch as usize % 9,
        img.coded_channels(opts.drop_opaque_alpha) as usize,
    );
    // Half the time, 1 to 4 substreams asked for (more than the rows: one a row).
    if input.threads / 64 % 2 == 1 && m.config().multiscale.is_none() {
        opts.substreams = Some(input.height as usize % 4 + 1);
    }
    let enc = encode(&img, m, &opts).unwrap();
    let dec = decode(&enc.bytes, m, &DecodeOptions::default()).unwrap();
    assert_eq!(dec, img);
    let header = Header::parse(&enc.bytes, &Limits::default()).unwrap();
    assert_eq!(header.metadata, metadata);
});

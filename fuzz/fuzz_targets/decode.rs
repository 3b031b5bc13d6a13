//! Arbitrary bytes as a .prnn file: an image or a typed error, never a panic, never an
//! allocation past the limits. When the first byte is 0 mod 4, a version 1 header's model id and
//! CRC are patched to match the tiny model; when it is 2 mod 4, the input becomes a valid version
//! 2, 3 or 4 header (model or classical coding, adaptive or not, sizes from the input) before the rest of
//! the bytes as payload; so the fuzzer reaches every payload decoder. Images with alpha are
//! decoded with an alpha split half the time.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pixelrnn_codec::{decode, AlphaSplit, DecodeOptions, Header, Limits, Mode, ProbabilityModel, HEADER_LEN};
use pixelrnn_model::{Arch, Config, Engine};

fn models() -> &'static Vec<Engine> {
    static M: OnceLock<Vec<Engine>> = OnceLock::new();
    M.get_or_init(|| {
        (1..=4)
            .map(|c| {
                let arch = [Arch::PixelCnn, Arch::RowLstm, Arch::DiagonalBilstm][c % 3];
                Engine::random(&Config::pixel_cnn(c, 4, 1, 8).with_arch(arch), c as u64).unwrap()
            })
            .collect()
    })
}

/// The alpha splits of the tiny models: grey + grey+alpha, RGB + RGBA.
fn splits() -> &'static Vec<AlphaSplit<Engine>> {
    static S: OnceLock<Vec<AlphaSplit<Engine>>> = OnceLock::new();
    S.get_or_init(|| {
        [1, 3]
            .into_iter()
            .map(|c| AlphaSplit::new(models()[c - 1].clone(), models()[c].clone()).unwrap())
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let mut file = data.to_vec();
    let coded = file.get(11).map_or(1, |&c| (c as usize).clamp(1, 4));
    // Images with alpha: the model of every channel, or (odd byte 9) an alpha split.
    let model: &dyn ProbabilityModel = match (coded, data.get(9).map(|b| b % 2)) {
        (2, Some(1)) => &splits()[0],
        (4, Some(1)) => &splits()[1],
        _ => &models()[coded - 1],
    };
    if data.len() >= 8 && data[0] % 4 == 2 {
        let classical = data[1] % 2 == 1;
        // Versions 2 to 7 share the header; their adaptive experts differ; version 6 and 7's
        // "classical" files are context-coded (mode 2) instead.
        let version = 2 + (data[1] / 2) % 6;
        let h = Header {
            version,
            mode: match (classical, version) {
                (false, _) => Mode::Model,
                (true, 6 | 7) => Mode::Context,
                (true, _) => Mode::Classical,
            },
            builtin: None,
            flags: if !classical && data[2] % 2 == 1 { 8 } else { 0 },
            channels: coded as u8,
            coded_channels: coded as u8,
            levels: 256,
            width: data[3] as u32 % 16 + 1,
            height: data[4] as u32 % 16 + 1,
            model_id: if classical { [0; 32] } else { model.id() },
            pixel_crc: u32::from_le_bytes([data[5], data[6], data[7], data[0]]),
            payload_len: 0,
        };
        file = h.to_bytes();
        file.extend_from_slice(&data[8..]);
    } else if file.len() >= HEADER_LEN && data[0] % 4 == 0 {
        file[..8].copy_from_slice(&pixelrnn_codec::MAGIC);
        file[8] = 1;
        file[24..56].copy_from_slice(&model.id());
        let crc = crc(&file[..76]);
        file[76..80].copy_from_slice(&crc.to_le_bytes());
    }
    let opts = DecodeOptions {
        limits: Limits {
            max_pixels: 1024,
            max_payload: 1 << 16,
        },
        // Tall files with substreams reach the rows-side-by-side decoder.
        threads: 2,
        ..Default::default()
    };
    if let Ok(img) = decode(&file, model, &opts) {
        assert_eq!(
            img.pixels.len() as u64,
            img.width as u64 * img.height as u64 * img.channels as u64
        );
    }
});

/// CRC-32 (IEEE), bitwise: the fuzz crate keeps its dependencies minimal.
fn crc(b: &[u8]) -> u32 {
    let mut c = !0u32;
    for &x in b {
        c ^= x as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
    }
    !c
}

//! Arbitrary bytes as a .prnn file: an image or a typed error, never a panic, never an
//! allocation past the limits. When the first byte is even, the header's model id and CRC are
//! patched to match the tiny model, so the fuzzer reaches the payload decoder.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pixelrnn_codec::{decode, DecodeOptions, Limits, HEADER_LEN};
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

fuzz_target!(|data: &[u8]| {
    let mut file = data.to_vec();
    let coded = file.get(11).map_or(1, |&c| (c as usize).clamp(1, 4));
    let model = &models()[coded - 1];
    if file.len() >= HEADER_LEN && data[0] % 2 == 0 {
        file[..8].copy_from_slice(&pixelrnn_codec::MAGIC);
        file[8] = pixelrnn_codec::VERSION;
        file[24..56].copy_from_slice(&model.id());
        let crc = crc(&file[..76]);
        file[76..80].copy_from_slice(&crc.to_le_bytes());
    }
    let opts = DecodeOptions {
        limits: Limits {
            max_pixels: 1024,
            max_payload: 1 << 16,
        },
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

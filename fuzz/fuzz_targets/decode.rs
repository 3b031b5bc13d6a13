//! Arbitrary bytes as a .prnn file: an image or a typed error, never a panic, never an
//! allocation past the limits. When the first byte is 0 mod 4, a version 1 header's model id and
//! CRC are patched to match the tiny model; when it is 2 mod 4, the input becomes a valid version
//! 2 to 11 header (model or classical coding, adaptive or not, version 9 to 11's phase flag or not, sizes
//! from the input) before the rest of
//! the bytes as payload (for model-coded versions 7 to 11, half the time behind a well-formed
//! substream table); so the fuzzer reaches every payload decoder. Images with alpha are
//! decoded with an alpha split half the time.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pixelrnn_codec::substreams::join;
use pixelrnn_codec::{decode, AlphaSplit, DecodeOptions, Header, Limits, Mode, ProbabilityModel, Spread, HEADER_LEN};
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
        // Versions 2 to 11 share the header; their adaptive experts differ; version 6 to 11's
        // "classical" files are context-coded (mode 2) instead; version 7 to 11's payloads open
        // with their substream table (8's to 11's with lanes), taken from the input; version
        // 9 and 10's adaptive files have the phase stages half the time.
        let version = 2 + (data[1] / 2) % 11;
        let adaptive = !classical && data[2] % 2 == 1;
        let phases = adaptive && version >= 9 && data[2] & 4 == 4;
        let h = Header {
            version,
            mode: match (classical, version) {
                (false, _) => Mode::Model,
                (true, 6..) => Mode::Context,
                (true, _) => Mode::Classical,
            },
            builtin: None,
            flags: if adaptive { 8 } else { 0 } | if phases { 16 } else { 0 },
            channels: coded as u8,
            coded_channels: coded as u8,
            levels: 256,
            width: data[3] as u32 % 16 + 1,
            height: data[4] as u32 % 16 + 1,
            model_id: if classical { [0; 32] } else { model.id() },
            pixel_crc: u32::from_le_bytes([data[5], data[6], data[7], data[0]]),
            payload_len: 0,
            // Version 12: sometimes an ICC profile made of the input's bytes.
            metadata: if version >= 12 && data[2] & 8 == 8 {
                vec![pixelrnn_codec::Metadata {
                    kind: pixelrnn_codec::MetaKind::Icc,
                    data: data[..8].to_vec(),
                }]
            } else {
                Vec::new()
            },
        };
        file = h.to_bytes();
        if version >= 7 && !classical && data.len() >= 12 && data[2] & 2 == 2 {
            file.extend(table(data, version));
        } else {
            file.extend_from_slice(&data[8..]);
        }
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

/// A model-coded payload of version 7 or 8 with a well-formed substream table (so that the
/// fuzzer reaches the substream and lanes decoders rather than stopping at the table): 1 to 4
/// substreams, version 8's lanes (1 to 8) and delay (0 to 23, valid or not) from bytes 8 and 10,
/// the words from byte 12 on shared out among the substreams.
fn table(data: &[u8], version: u8) -> Vec<u8> {
    let s = 1 + data[8] as usize % 4;
    let lanes = (version >= 8).then(|| Spread {
        substreams: s,
        lanes: 1 + (data[8] as usize / 4) % 8,
        delay: data[10] as usize % 24,
    });
    let words: Vec<u32> = data[12..]
        .chunks(4)
        .map(|c| {
            let mut b = [0u8; 4];
            b[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(b)
        })
        .collect();
    let per = words.len().div_ceil(s).max(1);
    let streams: Vec<Vec<u32>> = (0..s)
        .map(|i| {
            let part = words.get(i * per..((i + 1) * per).min(words.len())).unwrap_or_default();
            if part.is_empty() {
                vec![0]
            } else {
                part.to_vec()
            }
        })
        .collect();
    join(&streams, lanes).expect("small substreams")
}

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

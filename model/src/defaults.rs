//! The built-in default models, one per coded channel count, compiled into the binary.
//!
//! - 3 channels (RGB): a PixelCNN (h=64, 6 blocks, `g3-rgb-pcnn-64x6`) trained on the photo
//!   corpus (`models/README.md` says how); 1 channel (grey): a PixelCNN (h=48, 6 blocks,
//!   `cpu-grey-pcnn-48x6`, built-in model #5) trained on the same photos converted to luminance:
//!   the earlier grey default (#1, `g3-grey-pcnn-48x6-cont`) trained further on the grown corpus.
//!   Earlier defaults stay built in, so every file written with one decodes without `--model`.
//! - 2 and 4 channels (grey+alpha, RGBA): small PixelCNNs (h=16, 4 blocks) trained briefly on
//!   photo crops with synthetic cut-out alpha (soft-edged ellipses; see `models/README.md`). An
//!   all-opaque alpha channel is not coded at all (see the codec), so most RGBA and grey+alpha
//!   images use the RGB and grey models.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::engine::Engine;
use crate::error::{ModelError, Result};
use crate::weights::{ModelId, Weights};

static RGB: &[u8] = include_bytes!("../defaults/rgb.safetensors");
static GREY: &[u8] = include_bytes!("../defaults/grey.safetensors");
static GREY_ALPHA: &[u8] = include_bytes!("../defaults/grey-alpha.safetensors");
static RGBA: &[u8] = include_bytes!("../defaults/rgba.safetensors");
static GREY_2: &[u8] = include_bytes!("../defaults/grey-2.safetensors");

/// The built-in default engine for 1–4 channels.
pub fn default_engine(channels: usize) -> Result<Engine> {
    match channels {
        1 => Engine::new(Weights::from_bytes(GREY_2)?),
        2 => Engine::new(Weights::from_bytes(GREY_ALPHA)?),
        3 => Engine::new(Weights::from_bytes(RGB)?),
        4 => Engine::new(Weights::from_bytes(RGBA)?),
        _ => Err(ModelError::bad("channels", format!("{channels} (must be 1–4)"))),
    }
}

/// Every built-in model this build carries, by its permanent index (format version 2 names a
/// built-in model by this index instead of its 32-byte id). An index is never reused: a new
/// default gets the next index, and a build that no longer carries an old model still knows its
/// id (so `--model` with that weight file works).
const BUILTIN: [&[u8]; 5] = [GREY, GREY_ALPHA, RGB, RGBA, GREY_2];

/// Built-in models made of two others: index 6 codes RGBA with the RGB default (#3) for the
/// colour and the RGBA default (#4) for the alpha ([`alpha_split_id`]), index 7 grey+alpha with
/// the grey default (#5) and the grey+alpha default (#2) likewise. They follow [`BUILTIN`]'s
/// indices; each entry is (colour, alpha).
const SPLIT: [(u32, u32); 2] = [(3, 4), (5, 2)];

/// The id of "model `colour` for the colour channels, model `alpha` (of every channel) for the
/// alpha": SHA-256 of `pixelrnn alpha split`, a zero byte, `colour` and `alpha`.
pub fn alpha_split_id(colour: &ModelId, alpha: &ModelId) -> ModelId {
    let mut h = Sha256::new();
    h.update(b"pixelrnn alpha split\0");
    h.update(colour);
    h.update(alpha);
    h.finalize().into()
}

fn builtin_ids() -> &'static [ModelId] {
    static IDS: OnceLock<Vec<ModelId>> = OnceLock::new();
    IDS.get_or_init(|| {
        let plain: Vec<ModelId> = BUILTIN.iter().map(|b| Sha256::digest(b).into()).collect();
        let id = |i: u32| &plain[i as usize - 1];
        let split = SPLIT.iter().map(|&(c, a)| alpha_split_id(id(c), id(a)));
        plain.iter().copied().chain(split).collect()
    })
}

/// For a built-in index that names an alpha split ([`SPLIT`]), the indices of its colour and
/// alpha models.
pub fn builtin_split(index: u32) -> Option<(u32, u32)> {
    let i = (index as usize).checked_sub(BUILTIN.len() + 1)?;
    SPLIT.get(i).copied()
}

/// The built-in alpha split for `channels` (2 or 4): its index, and its colour and alpha
/// models' indices.
pub fn default_split(channels: usize) -> Option<(u32, u32, u32)> {
    let colour = match channels {
        2 => 5,
        4 => 3,
        _ => return None,
    };
    let i = SPLIT.iter().position(|&(c, _)| c == colour)?;
    Some((BUILTIN.len() as u32 + 1 + i as u32, colour, SPLIT[i].1))
}

/// The permanent index (1, 2, …) of the built-in model with this id.
pub fn builtin_index(id: &ModelId) -> Option<u32> {
    builtin_ids().iter().position(|b| b == id).map(|i| i as u32 + 1)
}

/// The id of built-in model `index` (None for an index this build does not know).
pub fn builtin_id(index: u32) -> Option<ModelId> {
    let i = (index as usize).checked_sub(1)?;
    builtin_ids().get(i).copied()
}

/// Built-in model `index` as an engine (None for an alpha split: [`builtin_split`] names its
/// colour model).
pub fn builtin_engine(index: u32) -> Option<Result<Engine>> {
    let i = (index as usize).checked_sub(1)?;
    BUILTIN.get(i).map(|b| Engine::new(Weights::from_bytes(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_hex;

    #[test]
    fn defaults_exist_and_differ() {
        let ids: Vec<_> = (1..=4).map(|c| default_engine(c).unwrap().id()).collect();
        for i in 0..4 {
            for j in 0..i {
                assert_ne!(ids[i], ids[j]);
            }
        }
        for c in 1..=4 {
            let e = default_engine(c).unwrap();
            assert_eq!(e.channels(), c);
            assert_eq!(e.levels(), 256);
            assert_eq!(e.id(), ids[c - 1], "deterministic");
        }
        assert!(default_engine(0).is_err() && default_engine(5).is_err());
    }

    #[test]
    fn builtin_indices_are_permanent() {
        // Indices are written into files: they must keep naming these models (#1 was the grey
        // default before #5).
        for (index, channels) in [(5, 1), (2, 2), (3, 3), (4, 4)] {
            let id = default_engine(channels).unwrap().id();
            assert_eq!(builtin_index(&id), Some(index));
            assert_eq!(builtin_id(index), Some(id));
            assert_eq!(builtin_engine(index).unwrap().unwrap().id(), id);
        }
        let grey1 = builtin_engine(1).unwrap().unwrap();
        assert_eq!(grey1.channels(), 1);
        assert_eq!(
            id_hex(&grey1.id())[..16],
            *"e05275c3e2f2fe6a",
            "built-in #1 is the first grey default"
        );
        assert!(builtin_id(0).is_none() && builtin_id(8).is_none() && builtin_engine(9).is_none());
        assert_eq!(builtin_index(&[0; 32]), None);
    }

    #[test]
    fn alpha_splits_are_built_in_after_the_models() {
        for (channels, index, colour, alpha) in [(4, 6, 3, 4), (2, 7, 5, 2)] {
            assert_eq!(default_split(channels), Some((index, colour, alpha)));
            assert_eq!(builtin_split(index), Some((colour, alpha)));
            let (colour_id, alpha_id) = (builtin_id(colour).unwrap(), builtin_id(alpha).unwrap());
            assert_eq!(default_engine(channels).unwrap().id(), alpha_id);
            let id = alpha_split_id(&colour_id, &alpha_id);
            assert_ne!(id, colour_id);
            assert_ne!(id, alpha_split_id(&alpha_id, &colour_id));
            assert_eq!(builtin_id(index), Some(id));
            assert_eq!(builtin_index(&id), Some(index));
            assert!(builtin_engine(index).is_none());
        }
        assert_eq!(default_split(3), None);
        assert!((1..=5).all(|i| builtin_split(i).is_none()) && builtin_split(8).is_none());
        // Pinned: files name a split by this id when written with `--model`.
        assert_eq!(id_hex(&alpha_split_id(&[0; 32], &[1; 32]))[..8], *"c7c8e264");
    }
}

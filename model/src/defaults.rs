//! The built-in default models, one per coded channel count, compiled into the binary.
//!
//! - 3 channels (RGB): a PixelCNN (h=64, 6 blocks, `g3-rgb-pcnn-64x6`) trained on the photo
//!   corpus (`models/README.md` says how); 1 channel (grey): a PixelCNN (h=48, 6 blocks,
//!   `g3-grey-pcnn-48x6-cont`) trained on the same photos converted to luminance.
//! - 2 and 4 channels (grey+alpha, RGBA): small PixelCNNs (h=16, 4 blocks) trained briefly on
//!   photo crops with synthetic cut-out alpha (soft-edged ellipses; see `models/README.md`). An
//!   all-opaque alpha channel is not coded at all (see the codec), so most RGBA and grey+alpha
//!   images use the RGB and grey models.

use crate::engine::Engine;
use crate::error::{ModelError, Result};
use crate::weights::Weights;

static RGB: &[u8] = include_bytes!("../defaults/rgb.safetensors");
static GREY: &[u8] = include_bytes!("../defaults/grey.safetensors");
static GREY_ALPHA: &[u8] = include_bytes!("../defaults/grey-alpha.safetensors");
static RGBA: &[u8] = include_bytes!("../defaults/rgba.safetensors");

/// The built-in default engine for 1–4 channels.
pub fn default_engine(channels: usize) -> Result<Engine> {
    match channels {
        1 => Engine::new(Weights::from_bytes(GREY)?),
        2 => Engine::new(Weights::from_bytes(GREY_ALPHA)?),
        3 => Engine::new(Weights::from_bytes(RGB)?),
        4 => Engine::new(Weights::from_bytes(RGBA)?),
        _ => Err(ModelError::bad("channels", format!("{channels} (must be 1–4)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! The built-in default models, one per coded channel count.
//!
//! Placeholder: until trained defaults land, these are seeded *random* PixelCNNs, so files are
//! valid and decode exactly but are not small (often larger than the raw pixels). Their ids are
//! stable across builds and machines because the weights come from an integer RNG.

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{ModelError, Result};

/// Seed of the placeholder default for `channels` channels.
fn seed(channels: usize) -> u64 {
    0x5049_584C_524E_4E00 + channels as u64
}

/// The config of the built-in default for `channels` channels.
pub fn default_config(channels: usize) -> Config {
    Config::pixel_cnn(channels, 16, 4, 32)
}

/// The built-in default engine for 1–4 channels.
pub fn default_engine(channels: usize) -> Result<Engine> {
    if !(1..=4).contains(&channels) {
        return Err(ModelError::bad("channels", format!("{channels} (must be 1–4)")));
    }
    Engine::random(&default_config(channels), seed(channels))
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
        assert_eq!(default_engine(3).unwrap().id(), ids[2], "deterministic");
        assert!(default_engine(0).is_err() && default_engine(5).is_err());
    }
}

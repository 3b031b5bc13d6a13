//! pixelrnn-model: model configuration, the weight file format and the deterministic inference
//! engine (pure Rust, f32 with a fixed order of operations, no libm).
//!
//! ```
//! use pixelrnn_model::{Config, Engine};
//! let engine = Engine::random(&Config::pixel_cnn(1, 4, 1, 8), 7).unwrap();
//! let mut session = engine.session(2, 2);
//! let mut probs = vec![0.0; engine.levels()];
//! session.distribution(&mut probs);
//! assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-4);
//! ```

mod chain;
pub mod config;
#[cfg(feature = "torch")]
pub mod data;
pub mod defaults;
pub mod dist;
pub mod engine;
pub mod error;
pub mod fmath;
pub mod fused;
pub mod gated;
pub mod graph;
pub mod group;
#[cfg(feature = "torch")]
pub mod images;
pub mod kernels;
pub mod layers;
pub mod lstm;
mod memo;
mod memo_batch;
pub mod mixture;
pub mod multiscale;
#[cfg(feature = "torch")]
pub mod photos;
pub mod pixel_cnn;
pub mod plane;
pub mod recurrent;
pub mod rng;
pub mod rows;
pub mod session;
pub mod step;
#[cfg(feature = "torch")]
pub mod torch;
pub mod wave;
pub mod weights;

#[cfg(test)]
mod consistency;
#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod memo_tests;
#[cfg(test)]
mod wave_tests;

pub use config::{Arch, Config, Head, MultiScale};
pub use defaults::default_engine;
pub use dist::Dist;
pub use engine::{Engine, EngineSession};
pub use error::{ModelError, Result};
pub use graph::Session;
pub use kernels::{Arith, Isa};
pub use weights::{id_hex, ModelId, Weights};

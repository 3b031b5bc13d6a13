//! libtorch training, float evaluation and export (cargo feature `torch`). Nothing in the codec
//! depends on this: the engine alone computes the probabilities used for coding.

pub mod layers;
pub mod net;
pub mod train;

#[cfg(test)]
mod tests;

pub use net::{batch_tensor, cuda_devices, device, Model, Net};
pub use train::{evaluate, train, Monitor, StepInfo, TrainOptions, TrainSummary};

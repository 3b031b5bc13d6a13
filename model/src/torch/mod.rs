//! libtorch training, float evaluation and export (cargo feature `torch`). Nothing in the codec
//! depends on this: the engine alone computes the probabilities used for coding.

pub mod batches;
pub mod layers;
pub mod lstm;
pub mod mixture;
pub mod net;
pub mod optim;
pub mod options;
pub mod train;

#[cfg(test)]
mod causality_tests;
#[cfg(test)]
mod tests;

pub use net::{batch_tensor, cuda_devices, device, Model, Net};
pub use optim::Schedule;
pub use train::{evaluate, set_precision, train, Monitor, Precision, StepInfo, TrainOptions, TrainSummary};

//! pixelrnn-codec: the `.prnn` container (see `FORMAT.md`), probability quantisation, range
//! coding with constriction, and the encoder/decoder drivers. No libtorch, ever.

pub mod adapt;
mod adapt4;
pub mod adapter;
pub mod adaptive_coder;
pub mod classical;
mod cm6;
pub mod container;
mod context;
mod ctx7;
mod decoder;
pub mod driver;
mod encoder;
pub mod error;
mod experts3;
mod field;
mod geo5;
mod hashed;
pub mod image;
pub mod interval;
mod kernels4;
mod kernels5;
mod kernels6;
pub mod lanes;
mod laplace;
pub mod metadata;
mod mixers6;
pub mod model;
mod options;
mod ordered;
pub mod parallel;
mod phase9;
mod pipeline;
mod predictors;
pub mod quantize;
mod signal;
pub mod split;
mod split_decode;
pub mod substreams;
pub mod symbols;
mod tree10;
mod trial;
pub mod v2;
pub mod varint;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod props;

pub use container::{arith_of, Header, Limits, Mode, HEADER_LEN, MAGIC, VERSION};
pub use decoder::decode;
pub use driver::encode;
pub use error::{CodecError, Result};
pub use image::Image;
pub use lanes::Spread;
pub use metadata::{MetaKind, Metadata};
pub use model::{ProbabilityModel, SequentialModel};
pub use options::{DecodeOptions, EncodeOptions, Encoded, ModeChoice, Progress};
pub use phase9::phase_row;
pub use quantize::{quantize, Coded, Cumulative, Table, PRECISION};
pub use split::AlphaSplit;

//! With the `torch` feature: rpath to torch/lib and libtorch_cuda kept linked (see build-support/).

include!("../build-support/torch_link.rs");

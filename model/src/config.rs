//! Model configuration: architecture, channel layout, levels and layer sizes (stored with the weights).

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// Version of the config schema written into weight files.
pub const CONFIG_VERSION: u32 = 1;

/// The network family. Every one trains with libtorch and runs in the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// 7×7 mask-A convolution, residual blocks with a 3×3 mask-B convolution.
    PixelCnn,
    /// Row LSTM: 3-wide input-to-state and state-to-state convolutions, one row per step.
    RowLstm,
    /// Diagonal BiLSTM: two diagonal LSTMs over the skewed map, the second shifted down a row.
    DiagonalBilstm,
    /// Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
    /// Decoders"): a vertical stack over the rows above and a horizontal stack along the row,
    /// gated tanh × sigmoid units, no blind spot ([`crate::gated`]).
    GatedPixelCnn,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::PixelCnn => "pixel_cnn",
            Arch::RowLstm => "row_lstm",
            Arch::DiagonalBilstm => "diagonal_bilstm",
            Arch::GatedPixelCnn => "gated_pixel_cnn",
        }
    }
}

/// The output head: how the network's last layer becomes sub-pixel distributions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Head {
    /// A `levels`-way softmax per sub-pixel (the paper's); channel group c of every map serves
    /// sub-pixel c, so later sub-pixels of a pixel see the earlier ones through the network.
    #[default]
    Softmax,
    /// A discretized mixture of logistics per pixel (PixelCNN++, Salimans et al. 2017) with
    /// `components` components: one network evaluation per pixel (it sees only earlier pixels),
    /// each channel's means linear in the earlier channels of the same pixel ([`crate::mixture`]).
    LogisticMixture { components: usize },
}

impl Head {
    pub fn is_softmax(&self) -> bool {
        matches!(self, Head::Softmax)
    }

    /// Mixture components (0 for the softmax head).
    pub fn components(&self) -> usize {
        match self {
            Head::Softmax => 0,
            Head::LogisticMixture { components } => *components,
        }
    }
}

/// Default number of mixture components.
pub const DEFAULT_COMPONENTS: usize = 10;
/// Most mixture components a config may ask for.
pub const MAX_COMPONENTS: usize = 64;

/// Hyper-parameters of a model. Serialised as JSON into the weight file's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Schema version ([`CONFIG_VERSION`]).
    pub version: u32,
    pub arch: Arch,
    /// Sub-pixels per pixel: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
    pub channels: usize,
    /// Distinct values per sub-pixel (2–256); 256 for 8-bit images.
    pub levels: usize,
    /// h: the residual stream carries 2h features, the inner layers h.
    pub hidden: usize,
    /// Number of residual blocks (PixelCNN) or recurrent layers after the mask-A layer.
    pub layers: usize,
    /// Width of the first 1×1 output layer.
    pub out_hidden: usize,
    /// Residual connections around every block.
    pub residual: bool,
    /// Learnable skip connections from every layer to the output stack.
    pub skip: bool,
    /// Multi-scale PixelRNN: this network is the conditional one over the full image, and
    /// [`MultiScale`] describes the unconditional network over the subsampled image. Absent from
    /// the JSON of single-scale models (whose files, and ids, stay as they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiscale: Option<MultiScale>,
    /// The output head. Absent from the JSON of softmax models (whose files, and ids, stay as
    /// they were).
    #[serde(default, skip_serializing_if = "Head::is_softmax")]
    pub head: Head,
}

/// The multi-scale part of a [`Config`] (van den Oord et al. 2016, section 3.4): an unconditional
/// network over the small image `S[i][j] = X[i·k][j·k]` (⌈H/k⌉ × ⌈W/k⌉), and the conditional
/// network (the enclosing config) over the full image, whose every layer adds an unmasked 1×1
/// projection of the upsampled small image to its input-to-state map.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiScale {
    /// k: the small image takes every k-th pixel each way (2–8).
    pub factor: usize,
    /// c: features of the upsampled conditioning map.
    pub features: usize,
    /// The unconditional network's architecture and sizes (channels, levels, residual and skip
    /// as the enclosing config).
    pub small_arch: Arch,
    pub small_hidden: usize,
    pub small_layers: usize,
    pub small_out_hidden: usize,
}

/// Largest subsampling factor of a multi-scale model.
pub const MAX_FACTOR: usize = 8;

/// Largest sizes a config may ask for; a weight file asking for more is rejected before allocating.
pub const MAX_HIDDEN: usize = 4096;
pub const MAX_LAYERS: usize = 256;

impl Config {
    /// A PixelCNN with the given layout and sizes, residual and skip connections on.
    pub fn pixel_cnn(channels: usize, hidden: usize, layers: usize, out_hidden: usize) -> Self {
        Config {
            version: CONFIG_VERSION,
            arch: Arch::PixelCnn,
            channels,
            levels: 256,
            hidden,
            layers,
            out_hidden,
            residual: true,
            skip: true,
            multiscale: None,
            head: Head::Softmax,
        }
    }

    /// The same model with the logistic-mixture head of `components` components.
    pub fn with_mixture(&self, components: usize) -> Config {
        Config {
            head: Head::LogisticMixture { components },
            ..self.clone()
        }
    }

    /// Checks every field; the engine relies on these bounds.
    pub fn validate(&self) -> Result<()> {
        if self.version != CONFIG_VERSION {
            return Err(ModelError::bad(
                "version",
                format!(
                    "config version {} is not supported (this build reads {CONFIG_VERSION})",
                    self.version
                ),
            ));
        }
        if !(1..=4).contains(&self.channels) {
            return Err(ModelError::bad("channels", format!("{} (must be 1–4)", self.channels)));
        }
        if !(2..=256).contains(&self.levels) {
            return Err(ModelError::bad("levels", format!("{} (must be 2–256)", self.levels)));
        }
        if self.hidden < self.channels || self.hidden > MAX_HIDDEN {
            return Err(ModelError::bad(
                "hidden",
                format!(
                    "{} (must be between channels={} and {MAX_HIDDEN})",
                    self.hidden, self.channels
                ),
            ));
        }
        if self.out_hidden < self.channels || self.out_hidden > MAX_HIDDEN {
            return Err(ModelError::bad(
                "out_hidden",
                format!(
                    "{} (must be between channels={} and {MAX_HIDDEN})",
                    self.out_hidden, self.channels
                ),
            ));
        }
        if self.layers > MAX_LAYERS {
            return Err(ModelError::bad(
                "layers",
                format!("{} (at most {MAX_LAYERS})", self.layers),
            ));
        }
        if let Head::LogisticMixture { components } = self.head {
            if !(1..=MAX_COMPONENTS).contains(&components) {
                return Err(ModelError::bad(
                    "head.components",
                    format!("{components} (must be 1–{MAX_COMPONENTS})"),
                ));
            }
        }
        if let Some(m) = &self.multiscale {
            if self.arch == Arch::GatedPixelCnn || m.small_arch == Arch::GatedPixelCnn {
                return Err(ModelError::bad(
                    "multiscale",
                    "multi-scale models use pixel-cnn, row-lstm or diagonal-bilstm networks, not gated-pixel-cnn",
                ));
            }
            if !self.head.is_softmax() {
                return Err(ModelError::bad(
                    "multiscale",
                    "multi-scale models use the softmax head (the logistic mixture is for single-scale models)",
                ));
            }
            if !(2..=MAX_FACTOR).contains(&m.factor) {
                return Err(ModelError::bad(
                    "multiscale.factor",
                    format!("{} (must be 2–{MAX_FACTOR})", m.factor),
                ));
            }
            if m.features == 0 || m.features > MAX_HIDDEN {
                return Err(ModelError::bad(
                    "multiscale.features",
                    format!("{} (must be 1–{MAX_HIDDEN})", m.features),
                ));
            }
            self.small().expect("multi-scale").validate()?;
        }
        Ok(())
    }

    /// The unconditional small-image network of a multi-scale model.
    pub fn small(&self) -> Option<Config> {
        let m = self.multiscale.as_ref()?;
        Some(Config {
            arch: m.small_arch,
            hidden: m.small_hidden,
            layers: m.small_layers,
            out_hidden: m.small_out_hidden,
            multiscale: None,
            ..self.clone()
        })
    }

    /// The subsampling factor k (1 for single-scale models).
    pub fn factor(&self) -> usize {
        self.multiscale.as_ref().map_or(1, |m| m.factor)
    }

    /// Features of the conditioning map (0 for single-scale models).
    pub fn cond_features(&self) -> usize {
        self.multiscale.as_ref().map_or(0, |m| m.features)
    }

    /// Features of the residual stream: 2h (h for the gated PixelCNN, whose stacks are h wide).
    pub fn stream(&self) -> usize {
        match self.arch {
            Arch::GatedPixelCnn => self.hidden,
            _ => 2 * self.hidden,
        }
    }

    /// Outputs of the last layer per pixel: `channels × levels` logits for the softmax head,
    /// the mixture's parameters ([`crate::mixture::params`]) for the mixture head.
    pub fn logits(&self) -> usize {
        match self.head {
            Head::Softmax => self.channels * self.levels,
            Head::LogisticMixture { components } => crate::mixture::params(self.channels, components),
        }
    }

    /// Channel groups of every feature map: one per sub-pixel for the softmax head (group c
    /// serves sub-pixel c), one for the mixture head (the whole network sees earlier pixels only).
    pub fn groups(&self) -> usize {
        match self.head {
            Head::Softmax => self.channels,
            Head::LogisticMixture { .. } => 1,
        }
    }

    /// The same sizes with another architecture.
    pub fn with_arch(&self, arch: Arch) -> Config {
        Config { arch, ..self.clone() }
    }
}

impl std::str::FromStr for Arch {
    type Err = ModelError;

    /// Accepts `pixel-cnn`/`pixel_cnn`, `row-lstm`, `diagonal-bilstm`, `gated-pixel-cnn`.
    fn from_str(s: &str) -> Result<Arch> {
        match s.replace('-', "_").as_str() {
            "pixel_cnn" | "pixelcnn" => Ok(Arch::PixelCnn),
            "row_lstm" => Ok(Arch::RowLstm),
            "diagonal_bilstm" => Ok(Arch::DiagonalBilstm),
            "gated_pixel_cnn" | "gated_pixelcnn" | "gated" => Ok(Arch::GatedPixelCnn),
            _ => Err(ModelError::bad(
                "arch",
                format!("'{s}' (use pixel-cnn, row-lstm, diagonal-bilstm or gated-pixel-cnn)"),
            )),
        }
    }
}

/// Channel groups: a feature map of `n` features is split into `groups` contiguous groups,
/// group g holding features `[ceil(g·n/G), ceil((g+1)·n/G))`. Group g of every map belongs to
/// sub-pixel g (R, G, B, A).
pub fn group_range(n: usize, groups: usize, g: usize) -> std::ops::Range<usize> {
    (g * n).div_ceil(groups)..((g + 1) * n).div_ceil(groups)
}

/// The group of feature `k` of an `n`-feature map (inverse of [`group_range`]).
pub fn group_of(k: usize, n: usize, groups: usize) -> usize {
    (k * groups) / n
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;

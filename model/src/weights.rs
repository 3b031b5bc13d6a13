//! The weight file: safetensors (little-endian f32, PyTorch `[out, in, kh, kw]` layouts) with the
//! config JSON in its metadata under [`CONFIG_KEY`]. The model id is the SHA-256 of the file bytes.
//! Tensor names and shapes per architecture are listed by [`tensor_specs`] and in `model/README.md`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use sha2::{Digest, Sha256};

use crate::config::{Arch, Config};
use crate::error::{ModelError, Result};
use crate::rng::SplitMix64;

/// Metadata key holding the [`Config`] as JSON. The only metadata key written, so that the
/// serialised bytes (and hence the model id) are reproducible.
pub const CONFIG_KEY: &str = "pixelrnn.config";

/// Largest weight file accepted (checked before reading it).
pub const MAX_WEIGHT_FILE: u64 = 1 << 30;

/// A model id: SHA-256 of the weight file.
pub type ModelId = [u8; 32];

/// Lower-case hex of a model id.
pub fn id_hex(id: &ModelId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Name, shape and fan-in (for initialisation) of one tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub fan_in: usize,
}

impl TensorSpec {
    /// Conv weight `[out, in, k, k]` and its bias `[out]`.
    pub(crate) fn conv(prefix: &str, out: usize, inp: usize, kh: usize, kw: usize, bias: bool) -> Vec<TensorSpec> {
        let fan_in = inp * kh * kw;
        let mut v = vec![TensorSpec {
            name: format!("{prefix}.weight"),
            shape: vec![out, inp, kh, kw],
            fan_in,
        }];
        if bias {
            v.push(TensorSpec {
                name: format!("{prefix}.bias"),
                shape: vec![out],
                fan_in,
            });
        }
        v
    }

    /// A learned vector `[n]` (initial states).
    pub(crate) fn vector(name: String, n: usize) -> TensorSpec {
        TensorSpec {
            name,
            shape: vec![n],
            fan_in: n,
        }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Every tensor a model of this config has, in a fixed order.
pub fn tensor_specs(config: &Config) -> Vec<TensorSpec> {
    let mut v = match config.arch {
        Arch::PixelCnn => crate::pixel_cnn::tensor_specs(config),
        Arch::RowLstm | Arch::DiagonalBilstm => crate::lstm::tensor_specs(config),
        Arch::GatedPixelCnn => crate::gated::tensor_specs(config),
    };
    if let Some(small) = config.small() {
        v.extend(tensor_specs(&small).into_iter().map(|s| TensorSpec {
            name: format!("{SMALL_PREFIX}{}", s.name),
            ..s
        }));
        v.extend(crate::multiscale::upsample_specs(config));
    }
    v
}

/// Name prefix of a multi-scale model's small-image network.
pub const SMALL_PREFIX: &str = "small.";

/// A dense f32 tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A validated set of weights with its config and id.
#[derive(Clone, Debug)]
pub struct Weights {
    config: Config,
    tensors: BTreeMap<String, Tensor>,
    id: ModelId,
}

impl Weights {
    /// Seeded random weights, uniform in ±1/√fan_in like PyTorch's default initialisation.
    pub fn random(config: &Config, seed: u64) -> Result<Weights> {
        config.validate()?;
        let mut rng = SplitMix64::new(seed);
        let mut tensors = BTreeMap::new();
        for spec in tensor_specs(config) {
            let bound = 1.0 / (spec.fan_in as f32).sqrt();
            let data = (0..spec.numel()).map(|_| rng.uniform(bound)).collect();
            tensors.insert(
                spec.name,
                Tensor {
                    shape: spec.shape,
                    data,
                },
            );
        }
        Self::from_parts(config.clone(), tensors)
    }

    /// Builds weights from named tensors (e.g. exported by the trainer), checking every shape.
    pub fn from_parts(config: Config, tensors: BTreeMap<String, Tensor>) -> Result<Weights> {
        config.validate()?;
        check_tensors(&config, tensors.iter().map(|(n, t)| (n.as_str(), t.shape.as_slice())))?;
        let mut w = Weights {
            config,
            tensors,
            id: [0; 32],
        };
        w.id = Sha256::digest(w.to_bytes()).into();
        Ok(w)
    }

    /// Parses a weight file. Every name, dtype and shape is checked against the config.
    pub fn from_bytes(bytes: &[u8]) -> Result<Weights> {
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| ModelError::format("safetensors header", "a valid header", e))?;
        let json = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(CONFIG_KEY))
            .ok_or_else(|| ModelError::format("metadata", format!("a '{CONFIG_KEY}' entry"), "none"))?;
        let config: Config =
            serde_json::from_str(json).map_err(|e| ModelError::format("config JSON", "a pixelrnn config", e))?;
        config.validate()?;
        let st =
            SafeTensors::deserialize(bytes).map_err(|e| ModelError::format("safetensors data", "valid tensors", e))?;
        let views = st.tensors();
        check_tensors(&config, views.iter().map(|(n, v)| (n.as_str(), v.shape())))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in views {
            if view.dtype() != Dtype::F32 {
                return Err(ModelError::format(
                    format!("dtype of {name}"),
                    "F32",
                    format!("{:?}", view.dtype()),
                ));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            tensors.insert(
                name,
                Tensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Ok(Weights {
            config,
            tensors,
            id: Sha256::digest(bytes).into(),
        })
    }

    /// Reads and parses a weight file.
    pub fn load(path: &Path) -> Result<Weights> {
        let io = |source| ModelError::Io {
            path: path.display().to_string(),
            source,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_WEIGHT_FILE {
            return Err(ModelError::Limit {
                what: "weight file size",
                value: len,
                limit: MAX_WEIGHT_FILE,
            });
        }
        Self::from_bytes(&std::fs::read(path).map_err(io)?)
    }

    /// The file bytes. Deterministic: tensors sorted by name, one metadata key.
    pub fn to_bytes(&self) -> Vec<u8> {
        let bytes: Vec<(&String, Vec<u8>)> = self
            .tensors
            .iter()
            .map(|(n, t)| (n, t.data.iter().flat_map(|x| x.to_le_bytes()).collect()))
            .collect();
        let views = bytes.iter().map(|(n, b)| {
            let shape = self.tensors[*n].shape.clone();
            (
                n.as_str(),
                TensorView::new(Dtype::F32, shape, b).expect("shape matches data"),
            )
        });
        let json = serde_json::to_string(&self.config).expect("config serialises");
        let meta = HashMap::from([(CONFIG_KEY.to_string(), json)]);
        safetensors::serialize(views, Some(meta)).expect("valid tensors serialise")
    }

    /// Writes the weight file.
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_bytes()).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn id(&self) -> ModelId {
        self.id
    }

    /// A tensor by name; present by construction for every name in [`tensor_specs`].
    pub fn get(&self, name: &str) -> &Tensor {
        &self.tensors[name]
    }

    pub fn tensors(&self) -> &BTreeMap<String, Tensor> {
        &self.tensors
    }

    /// The tensors under `prefix` (stripped) as weights of `config`: a multi-scale model's
    /// small-image network.
    pub fn sub(&self, prefix: &str, config: Config) -> Result<Weights> {
        let tensors = self
            .tensors
            .iter()
            .filter_map(|(n, t)| Some((n.strip_prefix(prefix)?.to_string(), t.clone())))
            .collect();
        Self::from_parts(config, tensors)
    }

    /// Total number of parameters.
    pub fn parameters(&self) -> usize {
        self.tensors.values().map(|t| t.data.len()).sum()
    }
}

/// Checks that the names and shapes are exactly those the config requires.
fn check_tensors<'a>(config: &Config, found: impl Iterator<Item = (&'a str, &'a [usize])>) -> Result<()> {
    let specs = tensor_specs(config);
    let mut want: BTreeMap<&str, &[usize]> = specs.iter().map(|s| (s.name.as_str(), s.shape.as_slice())).collect();
    for (name, shape) in found {
        match want.remove(name) {
            None => {
                return Err(ModelError::format(
                    "tensor names",
                    "only the config's tensors",
                    format!("unexpected '{name}'"),
                ))
            }
            Some(w) if w != shape => {
                return Err(ModelError::format(
                    format!("shape of {name}"),
                    format!("{w:?}"),
                    format!("{shape:?}"),
                ))
            }
            Some(_) => {}
        }
    }
    if let Some((name, _)) = want.into_iter().next() {
        return Err(ModelError::format("tensor names", format!("'{name}'"), "missing"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Config {
        Config::pixel_cnn(3, 6, 2, 9)
    }

    #[test]
    fn round_trip_keeps_tensors_and_id() {
        let w = Weights::random(&tiny(), 1).unwrap();
        let bytes = w.to_bytes();
        let back = Weights::from_bytes(&bytes).unwrap();
        assert_eq!(back.id(), w.id());
        assert_eq!(back.tensors(), w.tensors());
        assert_eq!(back.config(), w.config());
        assert_eq!(w.to_bytes(), bytes, "serialisation is deterministic");
    }

    #[test]
    fn seed_changes_id() {
        let a = Weights::random(&tiny(), 1).unwrap();
        let b = Weights::random(&tiny(), 2).unwrap();
        assert_ne!(a.id(), b.id());
    }

    #[test]
    fn rejects_wrong_shapes_and_names() {
        let w = Weights::random(&tiny(), 1).unwrap();
        let mut t = w.tensors().clone();
        t.get_mut("input.bias").unwrap().shape = vec![5];
        let err = Weights::from_parts(tiny(), t).unwrap_err();
        assert!(err.to_string().contains("input.bias"), "{err}");

        let mut t = w.tensors().clone();
        t.remove("output.1.weight");
        assert!(Weights::from_parts(tiny(), t)
            .unwrap_err()
            .to_string()
            .contains("missing"));

        let mut t = w.tensors().clone();
        t.insert(
            "extra".into(),
            Tensor {
                shape: vec![1],
                data: vec![0.0],
            },
        );
        assert!(Weights::from_parts(tiny(), t)
            .unwrap_err()
            .to_string()
            .contains("unexpected"));
    }

    #[test]
    fn rejects_garbage_and_missing_config() {
        assert!(Weights::from_bytes(b"not a weight file").is_err());
        let plain =
            safetensors::serialize([("x", TensorView::new(Dtype::F32, vec![1], &[0u8; 4]).unwrap())], None).unwrap();
        let err = Weights::from_bytes(&plain).unwrap_err();
        assert!(err.to_string().contains(CONFIG_KEY), "{err}");
    }
}

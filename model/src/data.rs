//! Training data (feature `torch`): a dataset path opened as training and validation sources
//! (IDX files, CIFAR-10 batches, photo directories with or without a held-out split).

use std::path::{Path, PathBuf};

use crate::error::{ModelError, Result};
use crate::images::binarize;
pub use crate::images::{read_cifar, read_idx, Binarize, Images};
pub use crate::photos::{read_image_dir, read_image_dir_with, with_synthetic_alpha, Photos};
use crate::rng::SplitMix64;

/// A training or validation source.
#[derive(Clone, Debug)]
pub enum Source {
    Fixed(Images),
    Crops { photos: Photos, size: usize, flip: bool },
}

/// How to read data.
#[derive(Clone, Debug)]
pub struct DataOptions {
    /// Crop size for image directories.
    pub crop: usize,
    /// Convert image directories to grey.
    pub grey: bool,
    /// Give image-directory crops a synthetic alpha channel (grey+alpha or RGBA).
    pub alpha: bool,
    pub binarize: Option<Binarize>,
    /// Held-out fraction when no validation data is found beside the training data.
    pub valid_frac: f64,
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions {
            crop: 32,
            grey: false,
            alpha: false,
            binarize: None,
            valid_frac: 0.1,
        }
    }
}

/// The training data with its validation source and options.
#[derive(Clone, Debug)]
pub struct Data {
    pub train: Source,
    pub valid: Source,
    pub binarize: Option<Binarize>,
}

fn find(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.exists())
}

/// Opens `path`: an IDX file, a directory with `train-images-idx3-ubyte[.gz]` (and `t10k-…` for
/// validation), a directory of CIFAR-10 `data_batch_*.bin` (and `test_batch.bin`), a directory with
/// `train/` and `valid/` image folders, or a plain image folder (held-out split by image).
pub fn open(path: &Path, o: &DataOptions) -> Result<Data> {
    let fixed = |t: Images, v: Option<Images>| {
        let (t, v) = match v {
            Some(v) => (t, v),
            None => t.split(o.valid_frac),
        };
        (Source::Fixed(t), Source::Fixed(v))
    };
    let (train, valid) = if path.is_file() {
        if path.extension().is_some_and(|e| e == "bin") {
            fixed(read_cifar(&[path.to_path_buf()])?, None)
        } else {
            fixed(read_idx(path)?, None)
        }
    } else if let Some(t) = find(path, &["train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"]) {
        let v = find(path, &["t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"]);
        fixed(read_idx(&t)?, v.map(|v| read_idx(&v)).transpose()?)
    } else if path.join("data_batch_1.bin").exists() {
        let mut batches: Vec<PathBuf> = (1..=5)
            .map(|i| path.join(format!("data_batch_{i}.bin")))
            .filter(|p| p.exists())
            .collect();
        batches.sort();
        let v = find(path, &["test_batch.bin"]);
        fixed(read_cifar(&batches)?, v.map(|v| read_cifar(&[v])).transpose()?)
    } else if path.join("train").is_dir() && path.join("valid").is_dir() {
        let crops = |d: &str, flip| -> Result<Source> {
            Ok(Source::Crops {
                photos: read_image_dir_with(&path.join(d), o.grey, o.alpha)?,
                size: o.crop,
                flip,
            })
        };
        (crops("train", true)?, crops("valid", false)?)
    } else if path.is_dir() {
        let mut p = read_image_dir_with(path, o.grey, o.alpha)?;
        let k = ((p.images.len() as f64 * o.valid_frac).ceil() as usize).clamp(1, p.images.len().max(2) - 1);
        let v = p.images.split_off(p.images.len() - k);
        (
            Source::Crops {
                photos: p.clone(),
                size: o.crop,
                flip: true,
            },
            Source::Crops {
                photos: Photos {
                    c: p.c,
                    images: v,
                    alpha: p.alpha,
                },
                size: o.crop,
                flip: false,
            },
        )
    } else {
        return Err(ModelError::bad("data", format!("{} does not exist", path.display())));
    };
    Ok(Data {
        train,
        valid,
        binarize: o.binarize,
    })
}

impl Data {
    pub fn channels(&self) -> usize {
        match &self.train {
            Source::Fixed(i) => i.c,
            Source::Crops { photos, .. } => photos.c + usize::from(photos.alpha),
        }
    }

    pub fn levels(&self) -> usize {
        if self.binarize.is_some() {
            2
        } else {
            256
        }
    }

    /// Images in one pass over the fixed training set (None for crops).
    pub fn train_len(&self) -> Option<usize> {
        match &self.train {
            Source::Fixed(i) => Some(i.n),
            Source::Crops { .. } => None,
        }
    }

    /// A training batch: the images at `idx` (fixed data) or `idx.len()` random crops.
    pub fn train_batch(&self, idx: &[usize], rng: &mut SplitMix64) -> Images {
        let mut b = match &self.train {
            Source::Fixed(i) => i.subset(idx),
            Source::Crops { photos, size, flip } => photos.crops(idx.len(), *size, *flip, rng),
        };
        if let Some(m) = self.binarize {
            binarize(&mut b.pixels, m, rng);
        }
        b
    }

    /// The fixed validation set: the first `n` images, or `n` crops drawn with a fixed seed.
    pub fn valid_set(&self, n: usize) -> Images {
        let mut rng = SplitMix64::new(0x0056_414C_4944);
        let mut v = match &self.valid {
            Source::Fixed(i) => i.subset(&(0..n.min(i.n)).collect::<Vec<_>>()),
            Source::Crops { photos, size, .. } => photos.crops(n, *size, false, &mut rng),
        };
        if let Some(m) = self.binarize {
            binarize(&mut v.pixels, m, &mut rng);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::tests::idx_bytes;

    #[test]
    fn reads_cifar_planes_as_interleaved_rgb() {
        let d = tempfile::tempdir().unwrap();
        let mut rec = vec![7u8];
        rec.extend(std::iter::repeat_n(10, 1024));
        rec.extend(std::iter::repeat_n(20, 1024));
        rec.extend(std::iter::repeat_n(30, 1024));
        let file: Vec<u8> = [rec.clone(), rec].concat();
        std::fs::write(d.path().join("data_batch_1.bin"), &file).unwrap();
        std::fs::write(d.path().join("test_batch.bin"), &file[..3073]).unwrap();
        let data = open(d.path(), &DataOptions::default()).unwrap();
        assert_eq!(data.train_len(), Some(2));
        let v = data.valid_set(10);
        assert_eq!((v.n, v.h, v.w, v.c), (1, 32, 32, 3));
        assert_eq!(&v.pixels[..6], &[10, 20, 30, 10, 20, 30]);
        std::fs::write(d.path().join("data_batch_1.bin"), &file[..100]).unwrap();
        assert!(open(d.path(), &DataOptions::default()).is_err());
    }

    #[test]
    fn idx_directory_binarised_with_held_out_test_file() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("train-images-idx3-ubyte"), idx_bytes(10, 2, 2)).unwrap();
        std::fs::write(d.path().join("t10k-images-idx3-ubyte"), idx_bytes(4, 2, 2)).unwrap();
        let o = DataOptions {
            binarize: Some(Binarize::Threshold),
            ..Default::default()
        };
        let data = open(d.path(), &o).unwrap();
        assert_eq!(data.levels(), 2);
        let b = data.train_batch(&[0, 9], &mut SplitMix64::new(1));
        assert!(b.pixels.iter().all(|&v| v <= 1));
        assert_eq!(data.valid_set(100).n, 4);
    }
}

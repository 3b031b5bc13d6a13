//! Fixed-size image sets for training (feature `torch`): [`Images`], MNIST/Fashion-MNIST IDX
//! files (gzipped or not), CIFAR-10 binary batches, binarisation and held-out splits.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{ModelError, Result};
use crate::rng::SplitMix64;

/// N images of the same size, `N × H × W × C` levels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub pixels: Vec<u8>,
}

impl Images {
    pub fn image(&self, i: usize) -> &[u8] {
        let s = self.h * self.w * self.c;
        &self.pixels[i * s..(i + 1) * s]
    }

    /// The images at `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Images {
        let mut pixels = Vec::with_capacity(idx.len() * self.h * self.w * self.c);
        for &i in idx {
            pixels.extend_from_slice(self.image(i));
        }
        Images {
            n: idx.len(),
            pixels,
            ..*self
        }
    }

    /// Splits off the last `frac` of the images as a held-out set.
    pub fn split(self, frac: f64) -> (Images, Images) {
        let k = ((self.n as f64 * frac).round() as usize).clamp(1, self.n.saturating_sub(1).max(1));
        let cut = self.n - k;
        let a: Vec<usize> = (0..cut).collect();
        let b: Vec<usize> = (cut..self.n).collect();
        (self.subset(&a), self.subset(&b))
    }
}

/// How to binarise 8-bit data to 2 levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binarize {
    /// v ≥ 128 → 1.
    Threshold,
    /// 1 with probability v/255, drawn afresh for every training batch.
    Stochastic,
}

impl std::str::FromStr for Binarize {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Binarize> {
        match s {
            "threshold" => Ok(Binarize::Threshold),
            "stochastic" => Ok(Binarize::Stochastic),
            _ => Err(ModelError::bad(
                "binarize",
                format!("'{s}' (use threshold or stochastic)"),
            )),
        }
    }
}

pub(crate) fn binarize(px: &mut [u8], mode: Binarize, rng: &mut SplitMix64) {
    for v in px {
        *v = match mode {
            Binarize::Threshold => u8::from(*v >= 128),
            Binarize::Stochastic => u8::from((rng.below(255) as u8) < *v),
        };
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a file, un-gzipping it when it starts with the gzip magic.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(io_err(path))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io_err(path))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// An IDX image file (magic 0x00000803: u8, 3 dimensions N × rows × cols), grey.
pub fn read_idx(path: &Path) -> Result<Images> {
    let b = read_maybe_gz(path)?;
    let be = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as usize;
    if b.len() < 16 || be(0) != 0x0803 {
        let found = if b.len() >= 4 {
            format!("{:#010x}", be(0))
        } else {
            "a short file".into()
        };
        return Err(ModelError::format(
            format!("IDX file {}", path.display()),
            "magic 0x00000803",
            found,
        ));
    }
    let (n, h, w) = (be(4), be(8), be(12));
    let want = n
        .checked_mul(h * w)
        .and_then(|x| x.checked_add(16))
        .unwrap_or(usize::MAX);
    if b.len() != want {
        return Err(ModelError::format(
            format!("IDX file {}", path.display()),
            format!("{want} bytes"),
            b.len(),
        ));
    }
    Ok(Images {
        n,
        h,
        w,
        c: 1,
        pixels: b[16..].to_vec(),
    })
}

/// CIFAR-10 binary batches: records of 1 label byte + 3072 bytes (R, G, B planes of 32×32).
pub fn read_cifar(paths: &[PathBuf]) -> Result<Images> {
    const REC: usize = 1 + 3 * 1024;
    let mut pixels = Vec::new();
    let mut n = 0;
    for p in paths {
        let b = std::fs::read(p).map_err(io_err(p))?;
        if b.is_empty() || b.len() % REC != 0 {
            return Err(ModelError::format(
                format!("CIFAR-10 batch {}", p.display()),
                format!("a multiple of {REC} bytes"),
                b.len(),
            ));
        }
        for rec in b.chunks_exact(REC) {
            let planes = &rec[1..];
            for i in 0..1024 {
                pixels.extend_from_slice(&[planes[i], planes[1024 + i], planes[2048 + i]]);
            }
            n += 1;
        }
    }
    Ok(Images {
        n,
        h: 32,
        w: 32,
        c: 3,
        pixels,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn idx_bytes(n: usize, h: usize, w: usize) -> Vec<u8> {
        let mut b = vec![0, 0, 8, 3];
        for d in [n, h, w] {
            b.extend_from_slice(&(d as u32).to_be_bytes());
        }
        b.extend((0..n * h * w).map(|i| (i % 251) as u8));
        b
    }

    #[test]
    fn reads_idx_plain_and_gzipped() {
        let d = tempfile::tempdir().unwrap();
        let raw = idx_bytes(3, 4, 5);
        std::fs::write(d.path().join("a.idx"), &raw).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).unwrap();
        std::fs::write(d.path().join("b.idx.gz"), gz.finish().unwrap()).unwrap();
        let a = read_idx(&d.path().join("a.idx")).unwrap();
        let b = read_idx(&d.path().join("b.idx.gz")).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.n, a.h, a.w, a.c), (3, 4, 5, 1));
        assert_eq!(a.image(1)[0], 20);
        std::fs::write(d.path().join("bad.idx"), &raw[..raw.len() - 1]).unwrap();
        assert!(read_idx(&d.path().join("bad.idx")).is_err());
        std::fs::write(d.path().join("labels.idx"), [0, 0, 8, 1, 0, 0, 0, 0]).unwrap();
        assert!(read_idx(&d.path().join("labels.idx"))
            .unwrap_err()
            .to_string()
            .contains("0x00000803"));
    }
}

//! Training data (feature `torch`): MNIST/Fashion-MNIST IDX files (gzipped or not), CIFAR-10
//! binary batches, directories of images (random crops and flips), binarisation, held-out splits.

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

fn binarize(px: &mut [u8], mode: Binarize, rng: &mut SplitMix64) {
    for v in px {
        *v = match mode {
            Binarize::Threshold => u8::from(*v >= 128),
            Binarize::Stochastic => u8::from((rng.below(255) as u8) < *v),
        };
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
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

/// Whole images of any size (8-bit RGB, or grey by luminance), for random crops.
#[derive(Clone, Debug)]
pub struct Photos {
    pub c: usize,
    pub images: Vec<(usize, usize, Vec<u8>)>,
    /// Append a synthetic alpha channel to every crop (see [`with_synthetic_alpha`]).
    pub alpha: bool,
}

/// Appends an alpha channel to a `size`×`size`×`c` crop: a random ellipse, opaque inside,
/// transparent outside, with a one-to-two-pixel anti-aliased edge, and colour zeroed where fully
/// transparent; the look of a cut-out object exported to PNG. Training data for the alpha-carrying
/// default models, since the corpus has no real alpha.
pub fn with_synthetic_alpha(crop: &[u8], size: usize, c: usize, rng: &mut SplitMix64) -> Vec<u8> {
    let s = size as f32;
    let (cx, cy) = (rng.next_f32() * s, rng.next_f32() * s);
    let (rx, ry) = (s * (0.2 + 0.6 * rng.next_f32()), s * (0.2 + 0.6 * rng.next_f32()));
    let edge = 1.0 + rng.next_f32();
    let mut out = Vec::with_capacity(size * size * (c + 1));
    for y in 0..size {
        for x in 0..size {
            let (dx, dy) = ((x as f32 + 0.5 - cx) / rx, (y as f32 + 0.5 - cy) / ry);
            // Distance outside the ellipse in pixels (approximately), negative inside.
            let d = ((dx * dx + dy * dy).sqrt() - 1.0) * rx.min(ry);
            let a = (0.5 - d / edge).clamp(0.0, 1.0);
            let a = (a * 255.0 + 0.5) as u8;
            let px = &crop[(y * size + x) * c..][..c];
            out.extend(px.iter().map(|&v| if a == 0 { 0 } else { v }));
            out.push(a);
        }
    }
    out
}

/// Reads every image file of a directory (sorted by name).
pub fn read_image_dir(dir: &Path, grey: bool) -> Result<Photos> {
    read_image_dir_with(dir, grey, false)
}

/// As [`read_image_dir`], crops optionally getting a synthetic alpha channel.
pub fn read_image_dir_with(dir: &Path, grey: bool, alpha: bool) -> Result<Photos> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| image::ImageFormat::from_path(p).is_ok())
        .collect();
    names.sort();
    let mut images = Vec::new();
    for p in &names {
        let img =
            image::open(p).map_err(|e| ModelError::format(format!("image {}", p.display()), "a readable image", e))?;
        let (w, h) = (img.width() as usize, img.height() as usize);
        let px = if grey {
            img.into_luma8().into_raw()
        } else {
            img.into_rgb8().into_raw()
        };
        images.push((w, h, px));
    }
    if images.is_empty() {
        return Err(ModelError::bad("data", format!("no images in {}", dir.display())));
    }
    Ok(Photos {
        c: if grey { 1 } else { 3 },
        images,
        alpha,
    })
}

impl Photos {
    /// `n` random `size`×`size` crops (images smaller than that are skipped), flipped left-right
    /// with probability ½ when `flip`.
    pub fn crops(&self, n: usize, size: usize, flip: bool, rng: &mut SplitMix64) -> Images {
        let big: Vec<&(usize, usize, Vec<u8>)> = self
            .images
            .iter()
            .filter(|(w, h, _)| *w >= size && *h >= size)
            .collect();
        let c = self.c;
        let mut pixels = Vec::with_capacity(n * size * size * (c + 1));
        for _ in 0..n {
            let start = pixels.len();
            let (w, h, px) = big[rng.below(big.len() as u64) as usize];
            let x0 = rng.below((w - size + 1) as u64) as usize;
            let y0 = rng.below((h - size + 1) as u64) as usize;
            let mirror = flip && rng.below(2) == 1;
            for y in y0..y0 + size {
                for i in 0..size {
                    let x = if mirror { x0 + size - 1 - i } else { x0 + i };
                    let o = (y * w + x) * c;
                    pixels.extend_from_slice(&px[o..o + c]);
                }
            }
            if self.alpha {
                let with = with_synthetic_alpha(&pixels[start..], size, c, rng);
                pixels.truncate(start);
                pixels.extend_from_slice(&with);
            }
        }
        Images {
            n,
            h: size,
            w: size,
            c: c + usize::from(self.alpha),
            pixels,
        }
    }
}

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
    use std::io::Write;

    fn idx_bytes(n: usize, h: usize, w: usize) -> Vec<u8> {
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

    #[test]
    fn image_directory_crops_and_flips() {
        let d = tempfile::tempdir().unwrap();
        for (i, (w, h)) in [(12u32, 9u32), (20, 20), (4, 4)].into_iter().enumerate() {
            let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, i as u8]));
            img.save(d.path().join(format!("{i}.png"))).unwrap();
        }
        let p = read_image_dir(d.path(), false).unwrap();
        assert_eq!(p.images.len(), 3);
        let c = p.crops(5, 8, true, &mut SplitMix64::new(2));
        assert_eq!((c.n, c.h, c.w, c.c), (5, 8, 8, 3));
        // Every crop is a contiguous run of x in one direction.
        for k in 0..5 {
            let img = c.image(k);
            let d = img[3] as i32 - img[0] as i32;
            assert!(d == 1 || d == -1);
        }
        let grey = read_image_dir(d.path(), true).unwrap();
        assert_eq!(grey.c, 1);
        let ga = read_image_dir_with(d.path(), true, true).unwrap();
        let c = ga.crops(20, 8, false, &mut SplitMix64::new(3));
        assert_eq!(c.c, 2);
        let alphas: Vec<u8> = c.pixels.chunks_exact(2).map(|p| p[1]).collect();
        assert!(alphas.contains(&0) && alphas.contains(&255));
        assert!(alphas.iter().any(|&a| a > 0 && a < 255), "anti-aliased edge");
        assert!(c.pixels.chunks_exact(2).all(|p| p[1] > 0 || p[0] == 0));
    }
}

//! Photo directories for training (feature `torch`): whole images of any size (RGB, or grey by
//! luminance), random crops with flips, and synthetic cut-out alpha.

use std::path::{Path, PathBuf};

use crate::error::{ModelError, Result};
use crate::images::{io_err, Images};
use crate::rng::SplitMix64;

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

#[cfg(test)]
mod tests {
    use super::*;

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

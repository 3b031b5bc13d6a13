//! Training batches cut on the training device: the training images are uploaded once as u8
//! tensors, and every batch (a subset of fixed images, or random crops with flips of photos) is
//! gathered there, so a GPU is not kept waiting for the CPU. Falls back to the CPU path of
//! [`Data::train_batch`] for what it does not handle (synthetic alpha, binarisation).

use tch::{Device, Kind, Tensor};

use crate::data::{Data, Source};
use crate::rng::SplitMix64;
use crate::torch::net::batch_tensor;

enum Held {
    /// `[N, H, W, C]` u8.
    Fixed { images: Tensor, h: i64, w: i64, c: i64 },
    /// Every usable photo's pixels, concatenated: `[Σ W·H, C]` u8, with (width, height, offset)
    /// of each photo at least as large as the crop.
    Crops {
        buf: Tensor,
        photos: Vec<(usize, usize, usize)>,
        size: usize,
        flip: bool,
        c: i64,
    },
}

/// Where training batches come from.
pub struct Batches<'d> {
    data: &'d Data,
    held: Option<Held>,
    device: Device,
}

impl<'d> Batches<'d> {
    /// Uploads the training images to `device` when the device path handles this data.
    pub fn new(data: &'d Data, device: Device) -> Batches<'d> {
        let held = match (&data.train, data.binarize) {
            (Source::Fixed(i), None) => Some(Held::Fixed {
                images: Tensor::from_slice(&i.pixels)
                    .view([i.n as i64, i.h as i64, i.w as i64, i.c as i64])
                    .to_device(device),
                h: i.h as i64,
                w: i.w as i64,
                c: i.c as i64,
            }),
            (Source::Crops { photos, size, flip }, None) if !photos.alpha => {
                let mut all = Vec::new();
                let mut held = Vec::new();
                for (w, h, px) in &photos.images {
                    if *w >= *size && *h >= *size {
                        held.push((*w, *h, all.len() / photos.c));
                        all.extend_from_slice(px);
                    }
                }
                (!held.is_empty()).then(|| Held::Crops {
                    buf: Tensor::from_slice(&all).view([-1, photos.c as i64]).to_device(device),
                    photos: held,
                    size: *size,
                    flip: *flip,
                    c: photos.c as i64,
                })
            }
            _ => None,
        };
        Batches { data, held, device }
    }

    /// True when batches are cut on the device.
    pub fn on_device(&self) -> bool {
        self.held.is_some()
    }

    /// A batch `[B, C, H, W]` int64 on the device: the fixed images at `idx`, or `idx.len()`
    /// random crops (each: a photo, a position, a flip with probability ½, drawn from `rng`).
    pub fn batch(&self, idx: &[usize], rng: &mut SplitMix64) -> Tensor {
        let Some(held) = &self.held else {
            let b = self.data.train_batch(idx, rng);
            return batch_tensor(&b.pixels, b.n, b.h, b.w, b.c, self.device);
        };
        match held {
            Held::Fixed { images, h, w, c } => {
                let ix: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
                let ix = Tensor::from_slice(&ix).to_device(self.device);
                images
                    .index_select(0, &ix)
                    .view([idx.len() as i64, *h, *w, *c])
                    .permute([0, 3, 1, 2])
                    .to_kind(Kind::Int64)
            }
            Held::Crops {
                buf,
                photos,
                size,
                flip,
                c,
            } => {
                let n = idx.len();
                let (mut base, mut stride, mut dir) =
                    (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
                for _ in 0..n {
                    let (w, h, off) = photos[rng.below(photos.len() as u64) as usize];
                    let x0 = rng.below((w - size + 1) as u64) as usize;
                    let y0 = rng.below((h - size + 1) as u64) as usize;
                    let mirror = *flip && rng.below(2) == 1;
                    let first = off + y0 * w + if mirror { x0 + size - 1 } else { x0 };
                    base.push(first as i64);
                    stride.push(w as i64);
                    dir.push(if mirror { -1i64 } else { 1 });
                }
                let s = *size as i64;
                let t = |v: &[i64]| Tensor::from_slice(v).to_device(self.device).view([n as i64, 1, 1]);
                let ar = Tensor::arange(s, (Kind::Int64, self.device));
                let ix = t(&base) + ar.view([1, s, 1]) * t(&stride) + ar.view([1, 1, s]) * t(&dir);
                buf.index_select(0, &ix.flatten(0, -1))
                    .view([n as i64, s, s, *c])
                    .permute([0, 3, 1, 2])
                    .to_kind(Kind::Int64)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Images, Photos};

    /// Device crops hold exactly the photo's pixels at some position, mirrored or not.
    #[test]
    fn crops_are_windows_of_the_photos() {
        let (w, h, c) = (9usize, 7usize, 3usize);
        let px: Vec<u8> = (0..w * h * c).map(|i| (i * 7 % 251) as u8).collect();
        let photos = Photos {
            c,
            images: vec![(w, h, px.clone()), (2, 2, vec![0; 12])],
            alpha: false,
        };
        let data = Data {
            train: Source::Crops {
                photos: photos.clone(),
                size: 4,
                flip: true,
            },
            valid: Source::Crops {
                photos,
                size: 4,
                flip: false,
            },
            binarize: None,
        };
        let b = Batches::new(&data, Device::Cpu);
        assert!(b.on_device());
        let mut rng = SplitMix64::new(3);
        let t = b.batch(&[0; 40], &mut rng);
        assert_eq!(t.size(), vec![40, 3, 4, 4]);
        let got: Vec<i64> = Vec::try_from(t.permute([0, 2, 3, 1]).flatten(0, -1)).unwrap();
        let mut mirrored = 0;
        for crop in got.chunks(4 * 4 * c) {
            let found = (0..=h - 4).any(|y0| {
                (0..=w - 4).any(|x0| {
                    [false, true].iter().any(|&m| {
                        let ok = (0..4).all(|y| {
                            (0..4).all(|x| {
                                let sx = if m { x0 + 3 - x } else { x0 + x };
                                (0..c).all(|k| crop[(y * 4 + x) * c + k] == px[((y0 + y) * w + sx) * c + k] as i64)
                            })
                        });
                        if ok && m {
                            mirrored += 1;
                        }
                        ok
                    })
                })
            });
            assert!(found, "a crop that is no window of the photo");
        }
        assert!(mirrored > 5 && mirrored < 35, "flips: {mirrored} of 40");
    }

    #[test]
    fn fixed_batches_match_the_cpu_path() {
        let imgs = Images {
            n: 5,
            h: 2,
            w: 3,
            c: 1,
            pixels: (0..30).collect(),
        };
        let data = Data {
            train: Source::Fixed(imgs.clone()),
            valid: Source::Fixed(imgs),
            binarize: None,
        };
        let b = Batches::new(&data, Device::Cpu);
        let mut rng = SplitMix64::new(1);
        let dev = b.batch(&[4, 0, 2], &mut rng);
        let cpu = data.train_batch(&[4, 0, 2], &mut rng);
        let cpu = batch_tensor(&cpu.pixels, cpu.n, cpu.h, cpu.w, cpu.c, Device::Cpu);
        assert_eq!(dev, cpu);
    }
}

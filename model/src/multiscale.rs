//! Multi-scale PixelRNN (van den Oord et al. 2016, section 3.4) in the engine: the small image,
//! the upsampling network that turns it into the conditioning map, the coding order (small image
//! first, then every pixel it does not hold), and the incremental session over both networks.
//!
//! ```text
//! S [⌈H/k⌉, ⌈W/k⌉, C]   S[i][j] = X[i·k][j·k]
//! F = ReLU(upsample.conv 3×3 (S) )                  [⌈H/k⌉, ⌈W/k⌉, c]   (unmasked, zero padding)
//! M = ReLU(upsample.deconv k×k stride k (F))        [H, W, c]           (cropped to H×W)
//! every layer l of the conditional network: input-to-state map += cond_l 1×1 (M)
//! ```
//!
//! Every value has one fixed order of operations: bias, then the taps in row-major order, each
//! `+ dot(weights, inputs)` ([`crate::fmath::dot`]); batch and incremental mode share it.

use crate::config::Config;
use crate::fmath::dot;
use crate::graph::{relu, Graph, Session};
use crate::kernels::Arith;
use crate::layers::bias;
use crate::weights::{TensorSpec, Weights};

/// `upsample.conv` `[c, C, 3, 3]` + bias and `upsample.deconv` `[c, c, k, k]` (PyTorch
/// `ConvTranspose2d` layout `[in, out, kh, kw]`) + bias.
pub fn upsample_specs(c: &Config) -> Vec<TensorSpec> {
    let (f, k) = (c.cond_features(), c.factor());
    let mut v = TensorSpec::conv("upsample.conv", f, c.channels, 3, 3, true);
    let mut d = TensorSpec::conv("upsample.deconv", f, f, k, k, true);
    // A transposed convolution's fan-in is that of the output it feeds: c inputs, one tap each.
    for s in &mut d {
        s.fan_in = f;
    }
    v.extend(d);
    v
}

/// The upsampling network of a multi-scale model, packed for the engine.
#[derive(Clone, Debug)]
pub struct Upsampler {
    k: usize,
    features: usize,
    channels: usize,
    /// `[c][9 taps][C]`.
    conv: Vec<f32>,
    conv_b: Vec<f32>,
    /// `[k·k phases][c out][c in]`.
    deconv: Vec<f32>,
    deconv_b: Vec<f32>,
}

impl Upsampler {
    pub fn new(w: &Weights) -> Upsampler {
        let c = w.config();
        let (f, k, ch) = (c.cond_features(), c.factor(), c.channels);
        let cw = w.get("upsample.conv.weight");
        let mut conv = Vec::with_capacity(f * 9 * ch);
        for o in 0..f {
            for tap in 0..9 {
                for i in 0..ch {
                    conv.push(cw.data[(o * ch + i) * 9 + tap]);
                }
            }
        }
        let dw = w.get("upsample.deconv.weight");
        let mut deconv = Vec::with_capacity(k * k * f * f);
        for phase in 0..k * k {
            for o in 0..f {
                for i in 0..f {
                    deconv.push(dw.data[(i * f + o) * k * k + phase]);
                }
            }
        }
        Upsampler {
            k,
            features: f,
            channels: ch,
            conv,
            conv_b: bias(w, "upsample.conv.bias", f),
            deconv,
            deconv_b: bias(w, "upsample.deconv.bias", f),
        }
    }

    /// The conditioning map of the small image `small` (⌈H/k⌉ × ⌈W/k⌉ × C levels), each level fed
    /// as `scale[v]`. Computed lazily, one row of small-image features at a time.
    pub fn map<'a>(&'a self, small: Vec<u8>, sw: usize, sh: usize, scale: &'a [f32]) -> CondMap<'a> {
        CondMap {
            up: self,
            small,
            scale,
            sw,
            sh,
            feat: vec![0.0; sw * self.features],
            feat_row: None,
        }
    }

    /// Multiply-adds per full-image pixel of the upsampling network.
    pub fn macs_per_pixel(&self) -> usize {
        self.features * self.features + (self.features * 9 * self.channels).div_ceil(self.k * self.k)
    }
}

/// The conditioning map M of one image, computed a row at a time from one row of the small
/// image's features F (so memory stays at one row of each, besides the small image itself).
#[derive(Clone, Debug)]
pub struct CondMap<'u> {
    up: &'u Upsampler,
    small: Vec<u8>,
    scale: &'u [f32],
    sw: usize,
    sh: usize,
    /// Row `feat_row` of F (sw × c).
    feat: Vec<f32>,
    feat_row: Option<usize>,
}

impl CondMap<'_> {
    pub fn features(&self) -> usize {
        self.up.features
    }

    /// Row i of F: `ReLU(conv_b[o] + Σ_taps dot(conv[o][tap], S(i+dy, j+dx)))`, taps in row-major
    /// order, those outside the small image skipped.
    fn feature_row(&mut self, i: usize) {
        if self.feat_row == Some(i) {
            return;
        }
        let (up, sw, sh) = (self.up, self.sw, self.sh);
        let (f, ch) = (up.features, up.channels);
        for j in 0..sw {
            // The 3×3 neighbourhood of (i, j), scaled once for all outputs (None outside).
            let taps: [Option<[f32; 4]>; 9] = std::array::from_fn(|tap| {
                let (yy, xx) = ((i + tap / 3).checked_sub(1)?, (j + tap % 3).checked_sub(1)?);
                if yy >= sh || xx >= sw {
                    return None;
                }
                let mut px = [0.0f32; 4];
                for (p, &v) in px.iter_mut().zip(&self.small[(yy * sw + xx) * ch..][..ch]) {
                    *p = self.scale[v as usize];
                }
                Some(px)
            });
            for (o, d) in self.feat[j * f..][..f].iter_mut().enumerate() {
                let mut acc = up.conv_b[o];
                for (tap, px) in taps.iter().enumerate() {
                    if let Some(px) = px {
                        acc += dot(&up.conv[(o * 9 + tap) * ch..][..ch], &px[..ch]);
                    }
                }
                *d = relu(acc);
            }
        }
        self.feat_row = Some(i);
    }

    /// Row `y` of M into `out` (W × c): `ReLU(deconv_b[o] + dot(deconv[phase][o], F[y/k][x/k]))`.
    pub fn row(&mut self, y: usize, out: &mut [f32]) {
        let (f, k) = (self.up.features, self.up.k);
        self.feature_row(y / k);
        for (x, px) in out.chunks_exact_mut(f).enumerate() {
            let src = &self.feat[(x / k) * f..][..f];
            let w = &self.up.deconv[((y % k) * k + x % k) * f * f..][..f * f];
            for (o, d) in px.iter_mut().enumerate() {
                *d = relu(self.up.deconv_b[o] + dot(&w[o * f..][..f], src));
            }
        }
    }
}

/// Whether pixel (y, x) belongs to the small image (and so costs nothing in the second pass).
#[inline]
pub fn is_known(y: usize, x: usize, k: usize) -> bool {
    y.is_multiple_of(k) && x.is_multiple_of(k)
}

/// Size of the small image: (⌈W/k⌉, ⌈H/k⌉).
pub fn small_size(width: usize, height: usize, k: usize) -> (usize, usize) {
    (width.div_ceil(k), height.div_ceil(k))
}

/// The small image `S[i][j] = X[i·k][j·k]` of an H×W×C raster.
pub fn subsample(pixels: &[u8], width: usize, height: usize, channels: usize, k: usize) -> Vec<u8> {
    let (sw, sh) = small_size(width, height, k);
    let mut s = Vec::with_capacity(sw * sh * channels);
    for i in 0..sh {
        for j in 0..sw {
            s.extend_from_slice(&pixels[((i * k) * width + j * k) * channels..][..channels]);
        }
    }
    s
}

/// The sub-pixels of a raster in coding order: the small image, then every other pixel in
/// raster order. A permutation: as many values as the raster.
pub fn coding_order(pixels: &[u8], width: usize, height: usize, channels: usize, k: usize) -> Vec<u8> {
    let mut v = subsample(pixels, width, height, channels, k);
    for y in 0..height {
        for x in 0..width {
            if !is_known(y, x, k) {
                v.extend_from_slice(&pixels[(y * width + x) * channels..][..channels]);
            }
        }
    }
    v
}

/// Inverse of [`coding_order`].
pub fn raster(coded: &[u8], width: usize, height: usize, channels: usize, k: usize) -> Vec<u8> {
    let (sw, _) = small_size(width, height, k);
    let small_len = sw * height.div_ceil(k) * channels;
    let mut out = vec![0u8; width * height * channels];
    let mut rest = coded[small_len.min(coded.len())..].chunks_exact(channels);
    for y in 0..height {
        for x in 0..width {
            let dst = &mut out[(y * width + x) * channels..][..channels];
            if is_known(y, x, k) {
                dst.copy_from_slice(&coded[((y / k) * sw + x / k) * channels..][..channels]);
            } else if let Some(src) = rest.next() {
                dst.copy_from_slice(src);
            }
        }
    }
    out
}

/// Incremental mode over a multi-scale model: the small image's sub-pixels through the
/// unconditional network, then the full image's unknown sub-pixels through the conditional one;
/// the small image's pixels are pushed into the conditional network without being asked for.
pub struct MultiSession<'e> {
    arith: Arith,
    full_graph: &'e Graph,
    up: &'e Upsampler,
    width: usize,
    height: usize,
    small: Session<'e>,
    small_px: Vec<u8>,
    full: Option<Session<'e>>,
}

impl<'e> MultiSession<'e> {
    pub(crate) fn new(
        arith: Arith,
        (small, full, up): (&'e Graph, &'e Graph, &'e Upsampler),
        width: usize,
        height: usize,
    ) -> Self {
        let (sw, sh) = small_size(width, height, up.k);
        MultiSession {
            arith,
            full_graph: full,
            up,
            width,
            height,
            small: small.session(arith, sw, sh, None).expect("no conditioning"),
            small_px: Vec::with_capacity(sw * sh * up.channels),
            full: None,
        }
    }

    pub fn done(&self) -> bool {
        self.full.as_ref().is_some_and(|s| s.done())
    }

    /// The distribution of the next coded sub-pixel.
    pub fn next_dist(&mut self) -> crate::dist::Dist<'_> {
        match &mut self.full {
            Some(s) => s.next_dist(),
            None => self.small.next_dist(),
        }
    }

    /// Records the next coded sub-pixel's value and advances.
    pub fn push(&mut self, value: u8) {
        match &mut self.full {
            Some(s) => s.push(value),
            None => {
                self.small.push(value);
                self.small_px.push(value);
                if self.small.done() {
                    let (sw, sh) = small_size(self.width, self.height, self.up.k);
                    let cond = self.up.map(self.small_px.clone(), sw, sh, self.full_graph.scale());
                    let s = self.full_graph.session(self.arith, self.width, self.height, Some(cond));
                    self.full = Some(s.expect("the conditional graph takes the map"));
                }
            }
        }
        self.skip_known();
    }

    /// Pushes the small image's pixels into the conditional network until the next unknown one.
    fn skip_known(&mut self) {
        let Some(s) = &mut self.full else { return };
        let (k, ch) = (self.up.k, self.up.channels);
        let sw = self.width.div_ceil(k);
        while !s.done() {
            let (y, x, c) = s.position();
            if !is_known(y, x, k) {
                break;
            }
            s.push(self.small_px[((y / k) * sw + x / k) * ch + c]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coding_order_is_a_permutation_for_ragged_sizes() {
        for (w, h, ch, k) in [(1, 1, 3, 2), (5, 3, 1, 2), (7, 9, 2, 3), (4, 4, 4, 4), (3, 8, 3, 8)] {
            let px: Vec<u8> = (0..w * h * ch).map(|i| (i * 7 % 251) as u8).collect();
            let coded = coding_order(&px, w, h, ch, k);
            assert_eq!(coded.len(), px.len());
            assert_eq!(raster(&coded, w, h, ch, k), px, "{w}×{h}×{ch} k={k}");
            let (sw, sh) = small_size(w, h, k);
            assert_eq!(&coded[..sw * sh * ch], &subsample(&px, w, h, ch, k)[..]);
        }
    }
}

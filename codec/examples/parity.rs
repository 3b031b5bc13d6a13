//! Experiment: what the adaptive coding (format version 8's experts and context stage, one
//! substream, raster order) costs when its statistics are split by the pixel's phase, y mod 2
//! and x mod 2, with the built-in default model's distributions: `cargo run --release -p
//! pixelrnn-codec --example parity -- NAME.WxHxC.raw…` (raw 8-bit pixels). Photos that went
//! through JPEG's 2×2 chroma subsampling code up to 4 % smaller with four phase classes
//! (docs/design.md, "Pixel phase").

mod common;

use pixelrnn_codec::adapt::AdaptState;
use pixelrnn_codec::Spread;

fn main() {
    let names = ["one", "y%2", "x%2", "x%2,y%2"];
    let mut tot = [0f64; 4];
    let mut n = 0usize;
    for path in std::env::args().skip(1) {
        let (px, w, h, ch) = common::read_raw(&path);
        let engine = pixelrnn_model::default_engine(ch).unwrap();
        let logits = engine.logits(&px, w, h, 2).unwrap();
        let mut probs = vec![0f32; 256];
        print!("{:32}", path.rsplit('/').next().unwrap());
        for (k, name) in names.iter().enumerate() {
            let classes = if k == 3 {
                4
            } else if k == 0 {
                1
            } else {
                2
            };
            let mut states: Vec<AdaptState> = (0..classes)
                .map(|_| AdaptState::new(8, (w, h, Spread::raster(1)), ch, 256))
                .collect();
            let mut out = vec![0f32; 256];
            let get = |j: usize| px[j];
            for y in 0..h {
                for x in 0..w {
                    for c in 0..ch {
                        let i = (y * w + x) * ch + c;
                        let l = &logits[i * 256..(i + 1) * 256];
                        let m = l.iter().cloned().fold(f32::MIN, f32::max);
                        let mut s = 0f32;
                        for (p, &v) in probs.iter_mut().zip(l) {
                            *p = (v - m).exp();
                            s += *p;
                        }
                        for p in probs.iter_mut() {
                            *p /= s;
                        }
                        let cls = match k {
                            0 => 0,
                            1 => y % 2,
                            2 => x % 2,
                            _ => (y % 2) * 2 + x % 2,
                        };
                        states[cls].mix(&get, (y, x, c), &probs, &mut out);
                        states[cls].update(c, px[i] as usize);
                    }
                }
            }
            let bits: f64 = states.iter().map(|s| s.stats().mixed_bits).sum();
            print!(" {name} {:.4}", bits / (w * h * ch) as f64);
            tot[k] += bits;
        }
        n += w * h * ch;
        println!();
    }
    print!("{:32}", "total");
    for (k, name) in names.iter().enumerate() {
        print!(" {name} {:.4}", tot[k] / n as f64);
    }
    println!();
}

//! Auto mode's context coding beside the model's: it stops at the model's mark row when it has
//! cost more than `CONTEXT_BEHIND` (1.10) times the model's adaptive coding there, and is not
//! offered; otherwise it is finished and kept where it is the smallest. The file never depends
//! on the threads, that is on whether the context coding or the model's reached the mark row
//! first.

use pixelrnn_codec::{
    decode, encode, DecodeOptions, EncodeOptions, Image, Mode, ModeChoice, ProbabilityModel, Result, SequentialModel,
};
use pixelrnn_model::{Arith, Dist, ModelId};
use pixelrnn_tests::ui_image;

/// The value sub-pixel `i` of a [`Known`] image has, unless it is one of the few changed.
fn expected(i: usize) -> u8 {
    ((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8
}

/// A model that knows the noise of [`noise`]: probability 0.9 on [`expected`], the rest
/// spread evenly. The context model sees nothing but noise in it.
struct Known {
    channels: usize,
}

fn known_dist(i: usize, probs: &mut [f32]) {
    probs.fill(0.1 / 255.0);
    probs[expected(i) as usize] = 0.9;
}

impl ProbabilityModel for Known {
    fn channels(&self) -> usize {
        self.channels
    }
    fn levels(&self) -> usize {
        256
    }
    fn id(&self) -> ModelId {
        [0x4b; 32]
    }
    fn batch(
        &self,
        _: Arith,
        px: &[u8],
        _: usize,
        _: usize,
        _: usize,
        sink: &mut dyn FnMut(Dist<'_>, u8) -> Result<()>,
    ) -> Result<()> {
        let mut probs = vec![0.0; 256];
        for (i, &v) in px.iter().enumerate() {
            known_dist(i, &mut probs);
            sink(Dist::Probs(&probs), v)?;
        }
        Ok(())
    }
    fn sequential<'a>(&'a self, _: Arith, _: usize, _: usize) -> Box<dyn SequentialModel + 'a> {
        Box::new(KnownSeq {
            i: 0,
            probs: vec![0.0; 256],
        })
    }
}

struct KnownSeq {
    i: usize,
    probs: Vec<f32>,
}

impl SequentialModel for KnownSeq {
    fn next_dist(&mut self) -> Dist<'_> {
        known_dist(self.i, &mut self.probs);
        Dist::Probs(&self.probs)
    }
    fn push(&mut self, _: u8) {
        self.i += 1;
    }
}

/// [`expected`]'s noise, every 17th sub-pixel one more.
fn noise(w: u32, h: u32, c: u8) -> Image {
    let n = (w * h * c as u32) as usize;
    let px = (0..n)
        .map(|i| expected(i).wrapping_add(u8::from(i % 17 == 0)))
        .collect();
    Image::new(w, h, c, px).unwrap()
}

fn auto(img: &Image, model: &Known, threads: usize) -> pixelrnn_codec::Encoded {
    let opts = EncodeOptions {
        threads,
        ..Default::default()
    };
    encode(img, model, &opts).unwrap()
}

#[test]
fn the_context_coding_stops_behind_the_model_and_is_kept_ahead_of_it() {
    for c in [1u8, 3] {
        let model = Known { channels: c as usize };
        // Noise the model knows: the context coding is far behind by the mark row.
        let img = noise(40, 96, c);
        let files: Vec<_> = [1, 2, 3].map(|threads| auto(&img, &model, threads)).into();
        for (f, threads) in files.iter().zip(1..) {
            assert_eq!(
                f.bytes, files[0].bytes,
                "{c} channel(s), {threads} threads: the same file"
            );
            assert_eq!(
                f.candidates.2, None,
                "{c} channel(s), {threads} threads: context coding stopped"
            );
        }
        assert_eq!(files[0].header.mode, Mode::Model, "{c} channel(s)");
        for threads in [1, 2] {
            let opts = DecodeOptions {
                threads,
                ..Default::default()
            };
            assert_eq!(decode(&files[0].bytes, &model, &opts).unwrap(), img);
        }
        // Asked for alone, the context coding is finished (and far larger).
        let alone = EncodeOptions {
            mode: ModeChoice::Context,
            ..Default::default()
        };
        let context = encode(&img, &model, &alone).unwrap();
        assert_eq!(context.header.mode, Mode::Context);
        assert!(context.bytes.len() > files[0].bytes.len() * 3, "{c} channel(s)");

        // A screenshot the model knows nothing of: the context coding is finished and kept.
        let ui = ui_image(40, 96, c, 3);
        for threads in [1, 2] {
            let f = auto(&ui, &model, threads);
            assert!(f.candidates.2.is_some(), "{c} channel(s), {threads} threads");
            assert_eq!(f.header.mode, Mode::Context, "{c} channel(s), {threads} threads");
            assert_eq!(decode(&f.bytes, &model, &DecodeOptions::default()).unwrap(), ui);
        }
    }
}

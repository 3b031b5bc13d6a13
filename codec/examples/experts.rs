//! What the adaptive experts alone cost on raw images (`NAME.WxHxC.raw`), with a uniform model:
//! `cargo run --release -p pixelrnn-codec --example experts -- VERSION FILES…`.

mod common;

use pixelrnn_codec::adapter::Adapter;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let version: u8 = args[0].parse().expect("a format version");
    let (mut tot, mut tot_e0, mut tot_e1, mut n) = (0.0, 0.0, 0.0, 0usize);
    for path in &args[1..] {
        let (data, w, h, c) = common::read_raw(path);
        let uniform = vec![1.0f32 / 256.0; 256];
        let mut out = vec![0f32; 256];
        let mut a = Adapter::new(version, (w, h, c, 256), 1);
        for &v in &data {
            a.mix(&uniform, &mut out);
            a.update(v as usize);
        }
        let s = a.stats();
        let k = data.len() as f64;
        println!(
            "{:40} mixed {:.3} e0 {:.3} e1 {:.3}",
            path.rsplit('/').next().unwrap(),
            s.mixed_bits / k,
            s.experts_bits[0] / k,
            s.experts_bits[1] / k
        );
        tot += s.mixed_bits;
        tot_e0 += s.experts_bits[0];
        tot_e1 += s.experts_bits[1];
        n += data.len();
    }
    let n = n as f64;
    println!("total mixed {:.4} e0 {:.4} e1 {:.4}", tot / n, tot_e0 / n, tot_e1 / n);
}

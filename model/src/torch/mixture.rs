//! The discretized logistic-mixture head in libtorch: the NLL that trains it (PixelCNN++'s
//! formulation, in the engine's parameter layout, [`crate::mixture::Layout`]).

use tch::{Kind, Tensor};

use crate::mixture::{Layout, LOG_SCALE_MIN};

/// NLL in nats of every image: `params [B, P, H, W]` (any float kind; computed in f32),
/// `batch [B, C, H, W]` int64 levels → `[B]`. `weight` (`[1, 1, H, W]`) weighs every pixel.
pub fn nll(params: &Tensor, batch: &Tensor, layout: Layout, levels: usize, weight: Option<&Tensor>) -> Tensor {
    let p = params.to_kind(Kind::Float);
    let k = layout.k as i64;
    let den = (levels - 1) as f64;
    let x = batch.to_kind(Kind::Float) * (2.0 / den) - 1.0;
    let half = 1.0 / den;
    let mut sum = Tensor::zeros_like(&p.narrow(1, 0, k));
    for c in 0..layout.channels {
        let mut m = p.narrow(1, layout.mean(c) as i64, k);
        for e in 0..c {
            // Not `+=`: that would add in place into the narrowed view of the parameters.
            #[allow(clippy::assign_op_pattern)]
            {
                m = m + p.narrow(1, layout.coeff(c, e) as i64, k).tanh() * x.narrow(1, e as i64, 1);
            }
        }
        let ls = p
            .narrow(1, layout.log_scale(c) as i64, k)
            .clamp_min(LOG_SCALE_MIN as f64);
        let centered = x.narrow(1, c as i64, 1) - m;
        let inv_s = (-&ls).exp();
        let plus_in = &inv_s * (&centered + half);
        let min_in = &inv_s * (&centered - half);
        // log σ(plus) (level 0 takes the lower tail) and log(1 − σ(min)) (the top level the upper).
        let log_cdf_plus = &plus_in - plus_in.softplus();
        let log_one_minus_cdf_min = -min_in.softplus();
        let cdf_delta = plus_in.sigmoid() - min_in.sigmoid();
        let mid_in = &inv_s * &centered;
        let log_pdf_mid = &mid_in - &ls - mid_in.softplus() * 2.0;
        let interior = cdf_delta
            .clamp_min(1e-12)
            .log()
            .where_self(&cdf_delta.gt(1e-5), &(log_pdf_mid - (den / 2.0).ln()));
        let v = batch.narrow(1, c as i64, 1);
        let lp = log_cdf_plus.where_self(
            &v.eq(0),
            &log_one_minus_cdf_min.where_self(&v.eq(levels as i64 - 1), &interior),
        );
        sum += lp;
    }
    let log_mix = (sum + p.narrow(1, 0, k).log_softmax(1, Kind::Float)).logsumexp([1].as_slice(), false);
    let log_mix = match weight {
        Some(w) => log_mix * w.squeeze_dim(1),
        None => log_mix,
    };
    -log_mix.sum_dim_intlist([1, 2].as_slice(), false, Kind::Float)
}

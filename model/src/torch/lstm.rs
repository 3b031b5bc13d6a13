//! libtorch recurrent layers: Row LSTM and Diagonal BiLSTM (with the skew that turns diagonals
//! into columns), built on [`super::layers`]' masked convolutions. Tensor names match the
//! engine's weight file (`model/README.md`).

use tch::{nn, Kind, Tensor};

use crate::config::Config;
use crate::layers::Mask;
use crate::torch::layers::{add_cond, cond_proj, dropout, MaskedConv2d};

/// One LSTM step from gate pre-activations `[B, 4h, N]` (order i, f, o, g) and the cell `[B, h, N]`.
fn lstm_cell(gates: &Tensor, c: &Tensor) -> (Tensor, Tensor) {
    let g = gates.chunk(4, 1);
    let c_new = g[1].sigmoid() * c + g[0].sigmoid() * g[3].tanh();
    let h_new = g[2].sigmoid() * c_new.tanh();
    (h_new, c_new)
}

/// Row LSTM layer: input-to-state 1×3 mask B along the row, state-to-state 1×3 over the
/// previous row's h, one row per step; then the 1×1 up-projection (+ input).
#[derive(Debug)]
pub struct RowLstm {
    is: MaskedConv2d,
    cond: Option<MaskedConv2d>,
    ss: MaskedConv2d,
    h0: Tensor,
    c0: Tensor,
    up: MaskedConv2d,
    residual: bool,
}

impl RowLstm {
    pub fn new(p: &nn::Path, c: &Config) -> RowLstm {
        let (h, h2) = (c.hidden, c.stream());
        let init = nn::Init::Uniform { lo: -0.1, up: 0.1 };
        RowLstm {
            is: MaskedConv2d::new(&(p / "is"), c, h2, 4 * h, (1, 3), Some(Mask::B), h, true),
            cond: cond_proj(p, c, 4 * h),
            ss: MaskedConv2d::new(&(p / "ss"), c, h, 4 * h, (1, 3), None, 4 * h, false),
            h0: p.var("h0", &[h as i64], init),
            c0: p.var("c0", &[h as i64], init),
            up: MaskedConv2d::new(&(p / "up"), c, h, h2, (1, 1), Some(Mask::B), h2, true),
            residual: c.residual,
        }
    }

    /// `[B, 2h, H, W] → [B, 2h, H, W]`; `m`, `drop` as for [`ResBlock::forward`].
    pub fn forward(&self, x: &Tensor, m: Option<&Tensor>, drop: f64) -> Tensor {
        let (b, _, hgt, w) = x.size4().expect("4-d input");
        let hd = self.h0.size()[0];
        let is = add_cond(self.is.forward(x), &self.cond, m);
        let mut hp = self.h0.view([1, hd, 1]).expand([b, hd, w], false);
        let mut cp = self.c0.view([1, hd, 1]).expand([b, hd, w], false);
        let mut rows = Vec::with_capacity(hgt as usize);
        for i in 0..hgt {
            let ss = self.ss.forward(&hp.unsqueeze(2)).squeeze_dim(2);
            let (hn, cn) = lstm_cell(&(is.select(2, i) + ss), &cp);
            rows.push(hn.shallow_clone());
            (hp, cp) = (hn, cn);
        }
        let hs = dropout(Tensor::stack(&rows, 2), drop);
        let e = self.up.forward(&hs);
        if self.residual {
            x + e
        } else {
            e
        }
    }
}

/// One direction of the Diagonal BiLSTM over a (possibly mirrored) map.
#[derive(Debug)]
pub struct DiagonalLstm {
    is: MaskedConv2d,
    cond: Option<MaskedConv2d>,
    ss: Tensor,
    h0: Tensor,
    c0: Tensor,
}

/// Row i shifted right by i: `[B, C, H, W] → [B, C, H, W+H−1]`.
pub fn skew(t: &Tensor) -> Tensor {
    let h = t.size()[2];
    let rows: Vec<Tensor> = (0..h)
        .map(|i| t.narrow(2, i, 1).constant_pad_nd([i, h - 1 - i]))
        .collect();
    Tensor::cat(&rows, 2)
}

/// Inverse of [`skew`]: `[B, C, H, W+H−1] → [B, C, H, W]`.
pub fn unskew(t: &Tensor, w: i64) -> Tensor {
    let h = t.size()[2];
    let rows: Vec<Tensor> = (0..h).map(|i| t.narrow(2, i, 1).narrow(3, i, w)).collect();
    Tensor::cat(&rows, 2)
}

impl DiagonalLstm {
    pub fn new(p: &nn::Path, c: &Config) -> DiagonalLstm {
        let (h, h2) = (c.hidden, c.stream());
        let bound = 1.0 / ((2 * h) as f64).sqrt();
        let init = nn::Init::Uniform { lo: -0.1, up: 0.1 };
        DiagonalLstm {
            is: MaskedConv2d::new(&(p / "is"), c, h2, 4 * h, (1, 1), Some(Mask::B), h, true),
            cond: cond_proj(p, c, 4 * h),
            ss: (p / "ss").var(
                "weight",
                &[4 * h as i64, h as i64, 2, 1],
                nn::Init::Uniform { lo: -bound, up: bound },
            ),
            h0: p.var("h0", &[h as i64], init),
            c0: p.var("c0", &[h as i64], init),
        }
    }

    /// `[B, 2h, H, W] → [B, h, H, W]`: h at (i, j) from (i, j−1) and (i−1, j); positions outside
    /// the image hold the learned initial state. `m` as for [`ResBlock::forward`].
    pub fn forward(&self, x: &Tensor, m: Option<&Tensor>) -> Tensor {
        let (b, _, hgt, w) = x.size4().expect("4-d input");
        let hd = self.h0.size()[0];
        let is = skew(&add_cond(self.is.forward(x), &self.cond, m));
        let wk = w + hgt - 1;
        let w_top = self.ss.select(3, 0).select(2, 0); // [4h, h], reads (i−1, j)
        let w_cur = self.ss.select(3, 0).select(2, 1); // [4h, h], reads (i, j−1)
        let h0 = self.h0.view([1, hd, 1]).expand([b, hd, hgt], false);
        let c0 = self.c0.view([1, hd, 1]).expand([b, hd, hgt], false);
        let rows = Tensor::arange(hgt, (Kind::Int64, x.device()));
        let (mut hp, mut cp) = (h0.shallow_clone(), c0.shallow_clone());
        let mut cols = Vec::with_capacity(wk as usize);
        for j in 0..wk {
            let above = Tensor::cat(&[h0.narrow(2, 0, 1), hp.narrow(2, 0, hgt - 1)], 2);
            let ss = w_top.matmul(&above) + w_cur.matmul(&hp);
            let (hn, cn) = lstm_cell(&(is.select(3, j) + ss), &cp);
            let valid = rows.le(j).logical_and(&rows.gt(j - w)).view([1, 1, hgt]);
            hp = hn.where_self(&valid, &h0);
            cp = cn.where_self(&valid, &c0);
            cols.push(hp.shallow_clone());
        }
        unskew(&Tensor::stack(&cols, 3), w)
    }
}

/// Diagonal BiLSTM layer: forward direction + backward direction (on the mirrored map, mirrored
/// back, shifted down one row), then the 1×1 up-projection (+ input).
#[derive(Debug)]
pub struct DiagonalBiLstm {
    fwd: DiagonalLstm,
    bwd: DiagonalLstm,
    up: MaskedConv2d,
    residual: bool,
}

impl DiagonalBiLstm {
    pub fn new(p: &nn::Path, c: &Config) -> DiagonalBiLstm {
        DiagonalBiLstm {
            fwd: DiagonalLstm::new(&(p / "fwd"), c),
            bwd: DiagonalLstm::new(&(p / "bwd"), c),
            up: MaskedConv2d::new(
                &(p / "up"),
                c,
                c.hidden,
                c.stream(),
                (1, 1),
                Some(Mask::B),
                c.stream(),
                true,
            ),
            residual: c.residual,
        }
    }

    /// `[B, 2h, H, W] → [B, 2h, H, W]`; `m`, `drop` as for [`ResBlock::forward`] (`m` mirrored
    /// with the input for the backward direction).
    pub fn forward(&self, x: &Tensor, m: Option<&Tensor>, drop: f64) -> Tensor {
        let hgt = x.size()[2];
        let f = self.fwd.forward(x, m);
        let mf = m.map(|m| m.flip([3]));
        let b = self.bwd.forward(&x.flip([3]), mf.as_ref()).flip([3]);
        // Down one row: row i receives the backward state of row i−1 (zeros for row 0).
        let b = b.narrow(2, 0, hgt - 1).constant_pad_nd([0, 0, 1, 0]);
        let e = self.up.forward(&dropout(f + b, drop));
        if self.residual {
            x + e
        } else {
            e
        }
    }
}

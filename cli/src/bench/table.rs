//! `pixelrnn bench`'s outputs: the totals row, the Markdown table and the SVG chart.

use std::path::Path;

use anyhow::Result;

use super::Row;

/// The sums over `rows` (the external codecs' only where every image has them).
pub(super) fn totals(rows: &[Row]) -> Row {
    let sum = |f: &dyn Fn(&Row) -> Option<u64>| -> Option<u64> { rows.iter().map(f).sum() };
    Row {
        image: "total".into(),
        subpixels: rows.iter().map(|r| r.subpixels).sum(),
        prnn_bytes: rows.iter().map(|r| r.prnn_bytes).sum(),
        model_bits: rows.iter().map(|r| r.model_bits).sum(),
        png_bytes: rows.iter().map(|r| r.png_bytes).sum(),
        webp_bytes: sum(&|r| r.webp_bytes),
        jxl_bytes: sum(&|r| r.jxl_bytes),
        encode_s: rows.iter().map(|r| r.encode_s).sum(),
        decode_s: rows.iter().map(|r| r.decode_s).sum(),
        verified: rows.iter().all(|r| r.verified),
        model_payload_bytes: sum(&|r| r.model_payload_bytes),
        classical_payload_bytes: sum(&|r| r.classical_payload_bytes),
        context_payload_bytes: sum(&|r| r.context_payload_bytes),
        adaptive_payload_bytes: sum(&|r| r.adaptive_payload_bytes),
        expert_bits: rows.iter().map(|r| r.expert_bits).sum(),
        ..Default::default()
    }
}

pub(super) fn markdown(rows: &[Row], total: &Row) -> String {
    let mut s = String::from(
        "| image | size | pixelrnn bits/dim | coding | model NLL | model coded | + adaptive | expert alone | classical | context | PNG | WebP | JPEG XL | encode s | decode s |\n|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let opt = |r: &Row, b: Option<u64>| b.map_or("–".to_string(), |b| format!("{:.3}", r.bpd(b)));
    for r in rows.iter().chain(std::iter::once(total)) {
        let nll = r.model_bits / r.subpixels as f64;
        let ours = r.bpd(r.prnn_bytes);
        let size = if r.width > 0 {
            format!("{}×{}×{}", r.width, r.height, r.channels)
        } else {
            format!("{} sub-pixels", r.subpixels)
        };
        let mode = if r.width > 0 {
            r.mode.to_string()
        } else {
            let n = |m: &str| rows.iter().filter(|r| r.mode == m).count();
            format!("{} classical, {} context", n("classical"), n("context"))
        };
        let bits = |b: Option<f64>| b.map_or("–".to_string(), |b| format!("{:.3}", b / r.subpixels as f64));
        s.push_str(&format!(
            "| {} | {} | {:.3} | {} | {:.3} | {} | {} | {} | {} | {} | {:.3} | {} | {} | {:.1} | {:.1} |\n",
            r.image,
            size,
            ours,
            mode,
            nll,
            opt(r, r.model_payload_bytes),
            opt(r, r.adaptive_payload_bytes),
            bits(r.expert_bits),
            opt(r, r.classical_payload_bytes),
            opt(r, r.context_payload_bytes),
            r.bpd(r.png_bytes),
            opt(r, r.webp_bytes),
            opt(r, r.jxl_bytes),
            r.encode_s,
            r.decode_s
        ));
    }
    s
}

pub(super) fn chart(path: &Path, rows: &[Row], total: &Row) -> Result<()> {
    use plotters::prelude::*;
    type Size = fn(&Row) -> Option<u64>;
    let codecs: [(&str, RGBColor, Size); 4] = [
        ("pixelrnn", RGBColor(220, 80, 40), |r| Some(r.prnn_bytes)),
        ("PNG", RGBColor(90, 90, 90), |r| Some(r.png_bytes)),
        ("WebP", RGBColor(60, 130, 200), |r| r.webp_bytes),
        ("JPEG XL", RGBColor(60, 170, 90), |r| r.jxl_bytes),
    ];
    let all: Vec<&Row> = rows.iter().chain(std::iter::once(total)).collect();
    let ymax = all
        .iter()
        .flat_map(|r| codecs.iter().filter_map(move |c| c.2(r).map(|b| r.bpd(b))))
        .fold(1.0, f64::max)
        * 1.15;
    let root = SVGBackend::new(path, (160 + 120 * all.len() as u32, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = all.len();
    let mut ch = ChartBuilder::on(&root)
        .caption("bits per sub-pixel (lower is better)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..n as f64, 0f64..ymax)?;
    ch.configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            all.get(x.floor() as usize)
                .map(|r| r.image.trim_end_matches(".png").to_string())
                .unwrap_or_default()
        })
        .y_desc("bits/dim")
        .draw()?;
    let w = 0.8 / codecs.len() as f64;
    for (k, (label, color, f)) in codecs.iter().enumerate() {
        let bars: Vec<_> = all
            .iter()
            .enumerate()
            .filter_map(|(i, r)| f(r).map(|b| (i, r.bpd(b))))
            .map(|(i, v)| {
                let x0 = i as f64 + 0.1 + k as f64 * w;
                Rectangle::new([(x0, 0.0), (x0 + w * 0.95, v)], color.filled())
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        ch.draw_series(bars)?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    ch.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

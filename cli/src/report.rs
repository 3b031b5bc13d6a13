//! What the CLI prints: one-line stats and errors on stderr, `--json` lines, progress bars.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pixelrnn_codec::{Header, Mode, Spread};
use serde::Serialize;

/// Sub-pixels below which no progress bar is shown (such images take a moment at most).
const BAR_THRESHOLD: u64 = 1 << 17;

pub struct Reporter {
    quiet: bool,
    verbose: bool,
    json: bool,
}

/// The result of one compress or decompress.
#[derive(Serialize)]
pub struct Stats {
    pub op: &'static str,
    pub input: String,
    pub output: String,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub coded_channels: u8,
    /// Size of the .prnn file.
    pub prnn_bytes: usize,
    /// Raw pixel bytes (width × height × channels).
    pub raw_bytes: u64,
    /// .prnn bits per sub-pixel of the image (header included).
    pub bits_per_subpixel: f64,
    /// The model's NLL in bits per coded sub-pixel (compress only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_bits_per_subpixel: Option<f64>,
    /// How the payload codes the pixels: "model", "adaptive" (the model mixed with the adaptive
    /// experts), "classical" (PNG filters + Brotli) or "context" (the context model of
    /// neighbouring colours, format version 6).
    pub mode: &'static str,
    /// The model coding's substreams: the most threads the file decodes on (format version 3
    /// and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub substreams: Option<usize>,
    /// Size of the input file (compress only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_bytes: Option<u64>,
    /// The .prnn file's metadata (format version 12): "icc_profile", "exif".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<&'static str>,
    /// What the input (compress) or the .prnn file (decompress) carries that changes how the
    /// image is shown and the file written leaves out: "icc_profile", "exif_orientation".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_kept: Vec<&'static str>,
    pub seconds: f64,
}

/// The name of a coding mode.
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Model => "model",
        Mode::Classical => "classical",
        Mode::Context => "context",
    }
}

impl Stats {
    /// The stats of `file` (the .prnn bytes, `h` its header).
    pub fn new(op: &'static str, input: &str, output: &str, h: &Header, file: &[u8], t: Duration) -> Stats {
        let raw = h.pixels() * h.channels as u64;
        let prnn_bytes = file.len();
        Stats {
            op,
            input: input.into(),
            output: output.into(),
            width: h.width,
            height: h.height,
            channels: h.channels,
            coded_channels: h.coded_channels,
            prnn_bytes,
            raw_bytes: raw,
            bits_per_subpixel: prnn_bytes as f64 * 8.0 / raw as f64,
            model_bits_per_subpixel: None,
            mode: if h.adaptive() { "adaptive" } else { mode_name(h.mode) },
            substreams: h.substreams(file).ok().flatten(),
            input_bytes: None,
            metadata: crate::metadata::names(&h.metadata),
            not_kept: Vec::new(),
            seconds: t.as_secs_f64(),
        }
    }

    pub fn with_input_bytes(mut self, bytes: u64) -> Stats {
        self.input_bytes = Some(bytes);
        self
    }

    pub fn with_not_kept(mut self, names: Vec<&'static str>) -> Stats {
        self.not_kept = names;
        self
    }

    pub fn with_model_bits(mut self, bits: f64) -> Stats {
        self.model_bits_per_subpixel = bits
            .is_finite()
            .then(|| bits / (self.width as f64 * self.height as f64 * self.coded_channels as f64));
        self
    }
}

/// One entry of a file's metadata in `info --json`.
#[derive(Serialize)]
struct MetaEntry {
    /// "icc_profile" or "exif".
    kind: &'static str,
    bytes: usize,
}

#[derive(Serialize)]
struct Info<'a> {
    file: &'a str,
    file_bytes: usize,
    version: u8,
    width: u32,
    height: u32,
    channels: u8,
    coded_channels: u8,
    opaque_alpha_dropped: bool,
    levels: u16,
    mode: &'static str,
    adaptive: bool,
    /// The adaptive coding's context stage kept per pixel phase (format version 9).
    #[serde(skip_serializing_if = "Option::is_none")]
    phases: Option<bool>,
    model_id: Option<String>,
    model: Option<String>,
    /// The model coding's substreams: the most threads it decodes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    substreams: Option<usize>,
    /// Rows of a substream coded in step (format version 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    lanes: Option<usize>,
    /// Format version 12's metadata: each entry's kind and size.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metadata: Vec<MetaEntry>,
    pixel_crc32: String,
    payload_bytes: u64,
    bits_per_subpixel: f64,
    payload_bits_per_coded_subpixel: f64,
}

impl Reporter {
    pub fn new(quiet: bool, verbose: bool, json: bool) -> Reporter {
        Reporter { quiet, verbose, json }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn error(&self, e: &anyhow::Error) {
        eprintln!("pixelrnn: error: {e:#}");
    }

    /// A line of normal output on stderr (hidden by -q and --json).
    pub fn line(&self, msg: &str) {
        if !self.quiet && !self.json {
            eprintln!("{msg}");
        }
    }

    /// A final result: JSON on stdout with --json, else a line on stderr.
    #[cfg_attr(not(feature = "torch"), allow(dead_code))]
    pub fn result(&self, v: &impl Serialize, line: &str) {
        if self.json {
            self.json_line(v, false);
        } else if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// A warning on stderr (hidden by -q, and by --json, whose lines may be on stderr: the JSON
    /// carries what the warning would say).
    pub fn warn(&self, msg: &str) {
        if !self.quiet && !self.json {
            eprintln!("pixelrnn: warning: {msg}");
        }
    }

    pub fn detail(&self, msg: &str) {
        if self.verbose {
            eprintln!("{msg}");
        }
    }

    /// A progress bar on stderr for long jobs (hidden when quiet, small or not a terminal).
    pub fn progress(&self, total: u64, what: &str) -> ProgressBar {
        if self.quiet || total < BAR_THRESHOLD || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg} {wide_bar} {percent:>3}% {per_sec} sub-pixels, eta {eta}")
                .expect("valid template"),
        );
        bar.set_message(what.to_string());
        bar
    }

    fn json_line(&self, v: &impl Serialize, stdout_busy: bool) {
        let line = serde_json::to_string(v).expect("serialisable");
        if stdout_busy {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    pub fn stats(&self, s: &Stats, stdout_busy: bool) {
        if self.json {
            return self.json_line(s, stdout_busy);
        }
        if self.quiet {
            return;
        }
        let mut model = s
            .model_bits_per_subpixel
            .map(|b| format!(" (model {b:.4})"))
            .unwrap_or_default();
        if s.mode != "model" {
            model.push_str(&format!(", {} coding", s.mode));
        }
        match s.substreams {
            Some(1) => model.push_str(", 1 substream"),
            Some(n) => model.push_str(&format!(", {n} substreams")),
            None => {}
        }
        eprintln!(
            "{} -> {}: {}x{}x{}, {} bytes .prnn, {:.4} bits/sub-pixel{model}, {:.1}% of raw, {:.2} s",
            s.input,
            s.output,
            s.width,
            s.height,
            s.channels,
            s.prnn_bytes,
            s.bits_per_subpixel,
            100.0 * s.prnn_bytes as f64 / s.raw_bytes as f64,
            s.seconds
        );
    }

    pub fn info(&self, file: &str, h: &Header, size: usize, builtin: Option<String>, spread: Option<Spread>) {
        let i = Info {
            file,
            file_bytes: size,
            version: h.version,
            width: h.width,
            height: h.height,
            channels: h.channels,
            coded_channels: h.coded_channels,
            opaque_alpha_dropped: h.opaque_alpha_dropped(),
            levels: h.levels,
            mode: mode_name(h.mode),
            adaptive: h.adaptive(),
            phases: (h.version >= 9 && h.adaptive()).then(|| h.phases()),
            model_id: (h.mode == Mode::Model).then(|| h.model_hex()),
            model: builtin,
            substreams: spread.map(|s| s.substreams),
            lanes: spread.filter(|_| h.version >= 8).map(|s| s.lanes),
            metadata: h
                .metadata
                .iter()
                .map(|m| MetaEntry {
                    kind: crate::metadata::kind_names(m.kind).0,
                    bytes: m.data.len(),
                })
                .collect(),
            pixel_crc32: format!("{:08x}", h.pixel_crc),
            payload_bytes: h.payload_len,
            bits_per_subpixel: size as f64 * 8.0 / (h.pixels() * h.channels as u64) as f64,
            payload_bits_per_coded_subpixel: h.bits_per_subpixel(),
        };
        if self.json {
            return self.json_line(&i, false);
        }
        println!("{file}");
        println!("  format version   {}", i.version);
        println!("  size             {}x{}", i.width, i.height);
        println!(
            "  channels         {} ({} coded{})",
            i.channels,
            i.coded_channels,
            if i.opaque_alpha_dropped {
                ", opaque alpha restored on decoding"
            } else {
                ""
            }
        );
        println!("  levels           {}", i.levels);
        if i.adaptive {
            let how = match i.version {
                2 | 3 => "model mixed with adaptive experts (MED, GAP)",
                4 => "model mixed with adaptive experts (blended prediction)",
                5 | 6 => "model mixed with adaptive experts, linear and geometric",
                _ if i.phases == Some(true) => {
                    "model mixed with adaptive experts, linear and geometric, then with the context model \
                     (one per pixel phase from the first quarter on)"
                }
                _ => "model mixed with adaptive experts, linear and geometric, then with the context model",
            };
            let tree = if i.version >= 10 {
                ", coded through the binary stage"
            } else {
                ""
            };
            println!("  coding           {how}{tree}");
        }
        match &i.model_id {
            Some(id) => println!(
                "  model            {id}{}",
                i.model.map(|m| format!(" ({m})")).unwrap_or_default()
            ),
            None if i.mode == "context" => {
                println!("  model            none (context coding: a context model of the neighbouring colours)")
            }
            None => println!("  model            none (classical coding: PNG row filters and Brotli)"),
        }
        if let Some(n) = i.substreams {
            let threads = match n {
                1 => "on one thread".to_string(),
                n => format!("on up to {n} threads"),
            };
            println!("  substreams       {n} (decodes {threads})");
        }
        if let Some(l) = i.lanes.filter(|&l| l > 1) {
            println!("  lanes            {l} rows of each substream coded in step (decoded in one pass)");
        }
        if !h.metadata.is_empty() {
            let kept: Vec<String> = h
                .metadata
                .iter()
                .map(|m| format!("{} ({} bytes)", crate::metadata::kind_names(m.kind).1, m.data.len()))
                .collect();
            println!("  metadata         {}", kept.join(", "));
        }
        println!("  pixel CRC-32     {}", i.pixel_crc32);
        println!("  payload          {} bytes", i.payload_bytes);
        println!(
            "  bits/sub-pixel   {:.4} (file), {:.4} (payload per coded sub-pixel)",
            i.bits_per_subpixel, i.payload_bits_per_coded_subpixel
        );
    }
}

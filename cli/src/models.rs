//! Which model the CLI uses: `--model PATH`, or the built-in default for the coded channel count.

use std::path::Path;

use anyhow::{bail, Context, Result};
use pixelrnn_codec::Header;
use pixelrnn_model::{default_engine, id_hex, Engine};

/// The model to encode an image with `coded` channels.
pub fn for_encoding(path: Option<&Path>, coded: usize) -> Result<Engine> {
    match path {
        Some(p) => {
            let e = Engine::load(p).with_context(|| format!("cannot load the model {}", p.display()))?;
            if e.channels() != coded {
                bail!(
                    "the model {} codes {} channel(s) but the image needs {coded}; pass a {coded}-channel model",
                    p.display(),
                    e.channels()
                );
            }
            Ok(e)
        }
        None => Ok(default_engine(coded)?),
    }
}

/// The model a file needs: `--model PATH` or the built-in model with the file's model id (a
/// classical or context-coded file needs none; the default is returned and not used).
pub fn for_decoding(path: Option<&Path>, h: &Header) -> Result<Engine> {
    if !h.mode.needs_model() && path.is_none() {
        return Ok(default_engine(h.coded_channels as usize)?);
    }
    // Format version 2 and later name a built-in model by index, version 1 by id: either way an
    // earlier default that this build still carries decodes without --model.
    let index = h
        .builtin
        .or_else(|| pixelrnn_model::defaults::builtin_index(&h.model_id));
    if let (None, Some(i)) = (path, index) {
        if let Some(e) = pixelrnn_model::defaults::builtin_engine(i) {
            return Ok(e?);
        }
    }
    match path {
        Some(p) => Engine::load(p).with_context(|| format!("cannot load the model {}", p.display())),
        // Every default is built in, so a model that is not is none of them.
        None => bail!(
            "the file was compressed with model {}, which is not built into this pixelrnn; \
             pass its weight file with --model",
            id_hex(&h.model_id)
        ),
    }
}

/// "built-in model #i (…)" when the header's model is one of ours.
pub fn builtin_name(h: &Header) -> Option<String> {
    let i = pixelrnn_model::defaults::builtin_index(&h.model_id)?;
    let e = default_engine(h.coded_channels as usize).ok()?;
    let default = if e.id() == h.model_id { ", the default" } else { "" };
    Some(format!(
        "built-in model #{i} for {} channel(s){default}",
        h.coded_channels
    ))
}

/// One-line description of a model.
pub fn describe(e: &Engine) -> String {
    let c = e.config();
    let multi = match &c.multiscale {
        Some(m) => format!(
            ", multi-scale k={} over a {} h={} layers={}",
            m.factor,
            m.small_arch.name(),
            m.small_hidden,
            m.small_layers
        ),
        None => String::new(),
    };
    let head = match c.head {
        pixelrnn_model::Head::Softmax => String::new(),
        pixelrnn_model::Head::LogisticMixture { components } => format!(", logistic mixture K={components}"),
    };
    format!(
        "{} {} (h={}, layers={}{multi}{head}, {} parameters)",
        c.arch.name(),
        &id_hex(&e.id())[..12],
        c.hidden,
        c.layers,
        e.weights().parameters()
    )
}

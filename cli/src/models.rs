//! Which model the CLI uses: `--model PATH`, or the built-in default for the coded channel count.

use std::path::Path;

use anyhow::{bail, Context, Result};
use pixelrnn_codec::{AlphaSplit, Header, ProbabilityModel};
use pixelrnn_model::defaults::{
    alpha_split_id, builtin_engine, builtin_id, builtin_index, builtin_split, default_split,
};
use pixelrnn_model::{default_engine, id_hex, Engine, ModelId};

/// What the CLI codes with: an engine, or an engine of the colour channels with one of every
/// channel for the alpha (`pixelrnn_codec::split`).
pub enum Model {
    Plain(Box<Engine>),
    Split(Box<AlphaSplit<Engine>>),
}

impl Model {
    /// The model as the codec sees it.
    pub fn coder(&self) -> &dyn ProbabilityModel {
        match self {
            Model::Plain(e) => &**e,
            Model::Split(s) => &**s,
        }
    }

    /// `colour` for the colour, the built-in model `alpha` for the alpha.
    fn split(colour: Engine, alpha: u32) -> Result<Model> {
        let alpha = builtin_engine(alpha).expect("built in")?;
        match AlphaSplit::new(colour, alpha) {
            Some(s) => Ok(Model::Split(Box::new(s))),
            None => bail!(
                "a multi-scale model cannot code the colour of an image with alpha; pass a model of every channel"
            ),
        }
    }
}

/// The built-in default model for `coded` channels: for an image with alpha, the colour
/// default for the colour and the model of every channel for the alpha when `split` (the
/// current format version), else the model of every channel.
fn default_model(coded: usize, split: bool) -> Result<Model> {
    match default_split(coded) {
        Some((_, colour, alpha)) if split => Model::split(builtin_engine(colour).expect("built in")?, alpha),
        _ => Ok(Model::Plain(Box::new(default_engine(coded)?))),
    }
}

/// The id of the default model for `coded` channels.
fn default_id(coded: usize) -> Option<ModelId> {
    match default_split(coded) {
        Some((index, _, _)) => builtin_id(index),
        None => Some(default_engine(coded).ok()?.id()),
    }
}

/// The model to encode an image with `coded` channels: `--model PATH` (a model of every
/// channel, or of the colour channels of an image with alpha), or the built-in default.
/// `split`: the file is written in the current format version (older readers do not know the
/// built-in splits).
pub fn for_encoding(path: Option<&Path>, coded: usize, split: bool) -> Result<Model> {
    let Some(p) = path else {
        return default_model(coded, split);
    };
    let e = Engine::load(p).with_context(|| format!("cannot load the model {}", p.display()))?;
    if e.channels() == coded {
        return Ok(Model::Plain(Box::new(e)));
    }
    if let (Some((_, _, alpha)), true) = (default_split(coded), e.channels() + 1 == coded) {
        if !split {
            bail!(
                "the model {} codes the colour alone, which needs the current format version; drop --format-version, or pass a {coded}-channel model",
                p.display()
            );
        }
        return Model::split(e, alpha);
    }
    bail!(
        "the model {} codes {} channel(s) but the image needs {coded}{}; pass a {coded}-channel model",
        p.display(),
        e.channels(),
        if default_split(coded).is_some() {
            format!(" (or {} for the colour)", coded - 1)
        } else {
            String::new()
        }
    )
}

/// The model a file needs: `--model PATH` or the built-in model with the file's model id (a
/// classical or context-coded file needs none; the default is returned and not used).
pub fn for_decoding(path: Option<&Path>, h: &Header) -> Result<Model> {
    if !h.mode.needs_model() && path.is_none() {
        return Ok(Model::Plain(Box::new(default_engine(h.coded_channels as usize)?)));
    }
    // Format version 2 and later name a built-in model by index, version 1 by id: either way an
    // earlier default that this build still carries decodes without --model.
    let index = h.builtin.or_else(|| builtin_index(&h.model_id));
    if let (None, Some(i)) = (path, index) {
        if let Some((colour, alpha)) = builtin_split(i) {
            return Model::split(builtin_engine(colour).expect("built in")?, alpha);
        }
        if let Some(e) = builtin_engine(i) {
            return Ok(Model::Plain(Box::new(e?)));
        }
    }
    match path {
        Some(p) => {
            let e = Engine::load(p).with_context(|| format!("cannot load the model {}", p.display()))?;
            if let Some((_, _, alpha)) = default_split(h.coded_channels as usize) {
                let alpha_id = builtin_id(alpha).expect("built in");
                if alpha_split_id(&e.id(), &alpha_id) == h.model_id {
                    return Model::split(e, alpha);
                }
            }
            Ok(Model::Plain(Box::new(e)))
        }
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
    let i = builtin_index(&h.model_id)?;
    let coded = h.coded_channels as usize;
    let default = if default_id(coded) == Some(h.model_id) {
        ", the default"
    } else {
        ""
    };
    let what = match builtin_split(i) {
        Some((colour, alpha)) => {
            format!("built-in model #{i} for {coded} channel(s): #{colour} for the colour, #{alpha} for the alpha")
        }
        None => format!("built-in model #{i} for {coded} channel(s)"),
    };
    Some(format!("{what}{default}"))
}

/// One-line description of a model (a split: both of its models).
pub fn describe_model(m: &Model) -> String {
    match m {
        Model::Plain(e) => describe(e),
        Model::Split(s) => format!(
            "{} for the colour, {} for the alpha",
            describe(s.colour()),
            describe(s.alpha())
        ),
    }
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

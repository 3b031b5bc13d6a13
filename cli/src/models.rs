//! Which model the CLI uses: `--model PATH`, or the built-in default for the coded channel count.

use std::path::Path;

use anyhow::{bail, Context, Result};
use pixelrnn_codec::{AlphaSplit, Header, ProbabilityModel};
use pixelrnn_model::defaults::{alpha_split_id, builtin_engine, builtin_index, builtin_split, default_split};
use pixelrnn_model::{default_engine, id_hex, Engine, ModelId};

/// What the CLI codes with: an engine, or an engine of the colour channels with the alpha
/// channel left to the adaptive coding (`pixelrnn_codec::split`).
pub enum Model {
    Plain(Engine),
    Split(AlphaSplit<Engine>),
}

impl Model {
    /// The model as the codec sees it.
    pub fn coder(&self) -> &dyn ProbabilityModel {
        match self {
            Model::Plain(e) => e,
            Model::Split(s) => s,
        }
    }

    fn split(e: Engine) -> Result<Model> {
        match AlphaSplit::new(e) {
            Some(s) => Ok(Model::Split(s)),
            None => bail!(
                "a multi-scale model cannot code the colour of an image with alpha; pass a model of every channel"
            ),
        }
    }
}

/// The built-in default model for `coded` channels: for an image with alpha, the colour
/// default and the alpha left to the adaptive coding when `split` (the adaptive coding of the
/// current format version is on), else the model of every channel.
fn default_model(coded: usize, split: bool) -> Result<Model> {
    match default_split(coded) {
        Some((_, colour)) if split => Model::split(builtin_engine(colour).expect("built in")?),
        _ => Ok(Model::Plain(default_engine(coded)?)),
    }
}

/// The id of the default model for `coded` channels.
fn default_id(coded: usize) -> Option<ModelId> {
    Some(default_model(coded, true).ok()?.coder().id())
}

/// The model to encode an image with `coded` channels: `--model PATH` (a model of every
/// channel, or of the colour channels of an image with alpha), or the built-in default.
/// `split`: the file is written with the current format version's adaptive coding, which can
/// learn an alpha channel by itself (older readers do not know the built-in splits, and
/// without the adaptive coding a split would code the alpha at 8 bits a value).
pub fn for_encoding(path: Option<&Path>, coded: usize, split: bool) -> Result<Model> {
    let Some(p) = path else {
        return default_model(coded, split);
    };
    let e = Engine::load(p).with_context(|| format!("cannot load the model {}", p.display()))?;
    if e.channels() == coded {
        return Ok(Model::Plain(e));
    }
    if default_split(coded).is_some() && e.channels() + 1 == coded {
        if !split {
            bail!(
                "the model {} codes the colour alone, which needs the adaptive coding of the current format version for the alpha; drop --no-adapt and --format-version, or pass a {coded}-channel model",
                p.display()
            );
        }
        return Model::split(e);
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
        return Ok(Model::Plain(default_engine(h.coded_channels as usize)?));
    }
    // Format version 2 and later name a built-in model by index, version 1 by id: either way an
    // earlier default that this build still carries decodes without --model.
    let index = h.builtin.or_else(|| builtin_index(&h.model_id));
    if let (None, Some(i)) = (path, index) {
        if let Some(colour) = builtin_split(i) {
            return Model::split(builtin_engine(colour).expect("built in")?);
        }
        if let Some(e) = builtin_engine(i) {
            return Ok(Model::Plain(e?));
        }
    }
    match path {
        Some(p) => {
            let e = Engine::load(p).with_context(|| format!("cannot load the model {}", p.display()))?;
            if alpha_split_id(&e.id()) == h.model_id {
                return Model::split(e);
            }
            Ok(Model::Plain(e))
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
        Some(colour) => format!(
            "built-in model #{i} for {coded} channel(s): #{colour} for the colour, the alpha by the adaptive coding"
        ),
        None => format!("built-in model #{i} for {coded} channel(s)"),
    };
    Some(format!("{what}{default}"))
}

/// One-line description of a model (a split: its colour model's, and the alpha).
pub fn describe_model(m: &Model) -> String {
    match m {
        Model::Plain(e) => describe(e),
        Model::Split(s) => format!(
            "{} for the colour, the alpha by the adaptive coding",
            describe(s.colour())
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

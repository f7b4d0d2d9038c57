//! Model configuration: the Hugging Face `config.json` as written, resolved into the one type the
//! model is built from.
//!
//! Mirrors `transformers/models/qwen3_5/configuration_qwen3_5.py` (transformers 5.24): the
//! vision-language checkpoints nest the decoder settings under `text_config`
//! (`Qwen3_5ForConditionalGeneration`, `model_type` `qwen3_5`); text-only checkpoints are flat
//! (`model_type` `qwen3_5_text`). Shape fields have no defaults here: a config that lacks one is
//! an error rather than a silently different model.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Qwen35Error, Result};

/// The token mixer of one decoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerType {
    /// Gated DeltaNet (linear attention), `linear_attn.*` weights.
    LinearAttention,
    /// Gated softmax attention with RoPE, `self_attn.*` weights.
    FullAttention,
}

impl LayerType {
    /// The name used in `config.json`'s `layer_types`.
    pub fn as_str(self) -> &'static str {
        match self {
            LayerType::LinearAttention => "linear_attention",
            LayerType::FullAttention => "full_attention",
        }
    }
}

/// The resolved settings of a dense Qwen3.5 text decoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qwen35Config {
    /// Vocabulary size (rows of `embed_tokens`).
    pub vocab_size: usize,
    /// Residual stream width.
    pub hidden_size: usize,
    /// SwiGLU inner width.
    pub intermediate_size: usize,
    /// Token mixer of each layer, in order; its length is the number of layers.
    pub layer_types: Vec<LayerType>,
    /// Query heads of the full-attention layers.
    pub num_attention_heads: usize,
    /// Key/value heads of the full-attention layers (GQA).
    pub num_key_value_heads: usize,
    /// Head width of the full-attention layers.
    pub head_dim: usize,
    /// Key heads of the Gated DeltaNet layers.
    pub linear_num_key_heads: usize,
    /// Value heads of the Gated DeltaNet layers (a multiple of the key heads).
    pub linear_num_value_heads: usize,
    /// Key (and query) head width of the Gated DeltaNet layers.
    pub linear_key_head_dim: usize,
    /// Value head width of the Gated DeltaNet layers.
    pub linear_value_head_dim: usize,
    /// Width of the causal depthwise convolution.
    pub linear_conv_kernel_dim: usize,
    /// Epsilon of every RMSNorm.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// Fraction of `head_dim` that is rotated.
    pub partial_rotary_factor: f64,
    /// Whether the output head reuses `embed_tokens`.
    pub tie_word_embeddings: bool,
    /// Standard deviation of the normal initialiser for random weights.
    pub initializer_range: f64,
    /// End-of-sequence token ids.
    pub eos_token_ids: Vec<u32>,
}

/// The RoPE settings block (`rope_parameters`) as written in `config.json`.
#[derive(Debug, Clone, Deserialize)]
struct HfRopeParameters {
    rope_theta: Option<f64>,
    partial_rotary_factor: Option<f64>,
    rope_type: Option<String>,
}

/// The text decoder block of `config.json`, field names verbatim.
#[derive(Debug, Clone, Deserialize)]
struct HfTextConfig {
    model_type: Option<String>,
    vocab_size: Option<usize>,
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    linear_num_key_heads: Option<usize>,
    linear_num_value_heads: Option<usize>,
    linear_key_head_dim: Option<usize>,
    linear_value_head_dim: Option<usize>,
    linear_conv_kernel_dim: Option<usize>,
    rms_norm_eps: Option<f64>,
    hidden_act: Option<String>,
    rope_parameters: Option<HfRopeParameters>,
    rope_theta: Option<f64>,
    partial_rotary_factor: Option<f64>,
    layer_types: Option<Vec<String>>,
    full_attention_interval: Option<usize>,
    tie_word_embeddings: Option<bool>,
    initializer_range: Option<f64>,
    eos_token_id: Option<Value>,
    attention_bias: Option<bool>,
}

/// Qwen3.5's end-of-text token, used when a config names no eos.
pub const ENDOFTEXT_ID: u32 = 248044;

impl Qwen35Config {
    /// Reads `config.json` from a file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|source| Qwen35Error::Io { path: path.to_path_buf(), source })?;
        Self::from_json_str(&text, path)
    }

    /// Parses the text of a `config.json`; `path` only labels errors.
    pub fn from_json_str(text: &str, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let err = |message: String| Qwen35Error::Config { path: path.clone(), message };
        let root: Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        let obj = root.as_object().ok_or_else(|| err("top level is not a JSON object".into()))?;
        let model_type = obj.get("model_type").and_then(Value::as_str).unwrap_or("");

        // Nested (vision-language) form: the decoder lives under text_config and the top-level
        // `tie_word_embeddings` is what transformers' ForConditionalGeneration obeys.
        let (text_value, outer_tie) = match obj.get("text_config") {
            Some(tc) => {
                if model_type != "qwen3_5" && !model_type.is_empty() {
                    return Err(Qwen35Error::UnsupportedModelType { path, model_type: model_type.to_string() });
                }
                (tc.clone(), obj.get("tie_word_embeddings").and_then(Value::as_bool))
            }
            None => {
                if model_type != "qwen3_5_text" && model_type != "qwen3_5" {
                    return Err(Qwen35Error::UnsupportedModelType { path, model_type: model_type.to_string() });
                }
                (root.clone(), None)
            }
        };
        let hf: HfTextConfig = serde_json::from_value(text_value).map_err(|e| err(format!("text config: {e}")))?;
        if let Some(mt) = &hf.model_type
            && mt != "qwen3_5_text"
            && mt != "qwen3_5"
        {
            return Err(Qwen35Error::UnsupportedModelType { path, model_type: mt.clone() });
        }
        let tie = outer_tie.or(hf.tie_word_embeddings).unwrap_or(false);
        resolve(hf, tie, &path)
    }

    /// A named size preset: `tiny`, `0.8b`, `2b` or `4b` (the published text configs).
    pub fn preset(name: &str) -> Option<Self> {
        let base = |hidden, layers, inter, q, kv, lk, lv| Qwen35Config {
            vocab_size: 248_320,
            hidden_size: hidden,
            intermediate_size: inter,
            layer_types: interval_layer_types(layers, 4),
            num_attention_heads: q,
            num_key_value_heads: kv,
            head_dim: 256,
            linear_num_key_heads: lk,
            linear_num_value_heads: lv,
            linear_key_head_dim: 128,
            linear_value_head_dim: 128,
            linear_conv_kernel_dim: 4,
            rms_norm_eps: 1e-6,
            rope_theta: 10_000_000.0,
            partial_rotary_factor: 0.25,
            tie_word_embeddings: true,
            initializer_range: 0.02,
            eos_token_ids: vec![ENDOFTEXT_ID],
        };
        match name.to_ascii_lowercase().as_str() {
            "0.8b" => Some(base(1024, 24, 3584, 8, 2, 16, 16)),
            "2b" => Some(base(2048, 24, 6144, 8, 2, 16, 16)),
            "4b" => Some(base(2560, 32, 9216, 16, 4, 16, 32)),
            // Small enough for tests and demos; exercises every layout feature of the big ones
            // (GQA, Hv = 2·Hk, dk != dv, partial rotary).
            "tiny" => Some(Qwen35Config {
                vocab_size: 512,
                head_dim: 16,
                linear_key_head_dim: 16,
                linear_value_head_dim: 24,
                eos_token_ids: vec![0],
                ..base(64, 4, 128, 4, 2, 2, 4)
            }),
            _ => None,
        }
    }

    /// The flat, text-only Hugging Face `config.json` (`model_type` `qwen3_5_text`,
    /// `Qwen3_5ForCausalLM`) for this config: what a model directory made here (a random
    /// model for a quickstart, a fully fine-tuned export) carries so that both this crate and
    /// `transformers` can load it. [`Qwen35Config::from_json_str`] reads it back unchanged.
    pub fn to_hf_json(&self) -> Value {
        serde_json::json!({
            "architectures": ["Qwen3_5ForCausalLM"],
            "model_type": "qwen3_5_text",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_layers(),
            "layer_types": self.layer_types.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "linear_num_key_heads": self.linear_num_key_heads,
            "linear_num_value_heads": self.linear_num_value_heads,
            "linear_key_head_dim": self.linear_key_head_dim,
            "linear_value_head_dim": self.linear_value_head_dim,
            "linear_conv_kernel_dim": self.linear_conv_kernel_dim,
            "rms_norm_eps": self.rms_norm_eps,
            "hidden_act": "silu",
            "attention_bias": false,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": self.rope_theta,
                "partial_rotary_factor": self.partial_rotary_factor,
            },
            "tie_word_embeddings": self.tie_word_embeddings,
            "initializer_range": self.initializer_range,
            "eos_token_id": self.eos_token_ids,
        })
    }

    /// Names accepted by [`Qwen35Config::preset`].
    pub const PRESETS: [&'static str; 4] = ["tiny", "0.8b", "2b", "4b"];

    /// Number of decoder layers.
    pub fn num_layers(&self) -> usize {
        self.layer_types.len()
    }

    /// Number of rotated dimensions per attention head (even).
    pub fn rotary_dim(&self) -> usize {
        let d = (self.head_dim as f64 * self.partial_rotary_factor) as usize;
        d - d % 2
    }

    /// Channels of the GDN convolution: q, k and v stacked.
    pub fn linear_conv_dim(&self) -> usize {
        2 * self.linear_num_key_heads * self.linear_key_head_dim
            + self.linear_num_value_heads * self.linear_value_head_dim
    }

    /// Parameter count of the text decoder (tied head counted once), as published.
    pub fn num_params(&self) -> usize {
        let h = self.hidden_size;
        let mut n = self.vocab_size * h + h; // embeddings + final norm
        if !self.tie_word_embeddings {
            n += self.vocab_size * h;
        }
        for lt in &self.layer_types {
            n += 2 * h + 3 * h * self.intermediate_size; // two norms + SwiGLU
            n += match lt {
                LayerType::FullAttention => {
                    let (q, kv, d) = (self.num_attention_heads, self.num_key_value_heads, self.head_dim);
                    h * 2 * q * d + 2 * h * kv * d + q * d * h + 2 * d
                }
                LayerType::LinearAttention => {
                    let hv = self.linear_num_value_heads;
                    let vdim = hv * self.linear_value_head_dim;
                    let conv = self.linear_conv_dim();
                    h * conv + h * vdim + 2 * h * hv // in_proj_qkv, z, b, a
                        + conv * self.linear_conv_kernel_dim
                        + 2 * hv // A_log, dt_bias
                        + self.linear_value_head_dim // gated norm
                        + vdim * h // out_proj
                }
            };
        }
        n
    }

    /// Checks the invariants the modules rely on.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let err = |message: String| Err(Qwen35Error::Config { path: path.to_path_buf(), message });
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.layer_types.len()),
            ("num_attention_heads", self.num_attention_heads),
            ("num_key_value_heads", self.num_key_value_heads),
            ("head_dim", self.head_dim),
            ("linear_num_key_heads", self.linear_num_key_heads),
            ("linear_num_value_heads", self.linear_num_value_heads),
            ("linear_key_head_dim", self.linear_key_head_dim),
            ("linear_value_head_dim", self.linear_value_head_dim),
            ("linear_conv_kernel_dim", self.linear_conv_kernel_dim),
        ];
        for (name, v) in positive {
            if v == 0 {
                return err(format!("{name} must be positive"));
            }
        }
        if !self.num_attention_heads.is_multiple_of(self.num_key_value_heads) {
            return err(format!(
                "num_attention_heads {} is not a multiple of num_key_value_heads {}",
                self.num_attention_heads, self.num_key_value_heads
            ));
        }
        if !self.linear_num_value_heads.is_multiple_of(self.linear_num_key_heads) {
            return err(format!(
                "linear_num_value_heads {} is not a multiple of linear_num_key_heads {}",
                self.linear_num_value_heads, self.linear_num_key_heads
            ));
        }
        if !(0.0..=1.0).contains(&self.partial_rotary_factor) || self.rotary_dim() == 0 {
            return err(format!("partial_rotary_factor {} gives no rotary dims", self.partial_rotary_factor));
        }
        if self.rope_theta <= 0.0 {
            return err(format!("rope_theta {} must be positive", self.rope_theta));
        }
        Ok(())
    }

    /// The layer pattern as one character per layer: `L` linear (GDN), `F` full attention.
    pub fn layer_pattern(&self) -> String {
        self.layer_types
            .iter()
            .map(|t| match t {
                LayerType::LinearAttention => 'L',
                LayerType::FullAttention => 'F',
            })
            .collect()
    }
}

/// transformers' rule: layer i is full attention when (i + 1) is a multiple of the interval.
fn interval_layer_types(layers: usize, interval: usize) -> Vec<LayerType> {
    (0..layers)
        .map(|i| if (i + 1).is_multiple_of(interval) { LayerType::FullAttention } else { LayerType::LinearAttention })
        .collect()
}

fn resolve(hf: HfTextConfig, tie_word_embeddings: bool, path: &Path) -> Result<Qwen35Config> {
    let missing = |field: &str| Qwen35Error::Config {
        path: path.to_path_buf(),
        message: format!("missing required field {field:?}"),
    };
    macro_rules! req {
        ($f:ident) => {
            hf.$f.ok_or_else(|| missing(stringify!($f)))?
        };
    }
    let bad = |message: String| Qwen35Error::Config { path: path.to_path_buf(), message };
    if let Some(act) = &hf.hidden_act
        && act != "silu"
    {
        return Err(bad(format!("hidden_act {act:?} is not supported (Qwen3.5 uses silu)")));
    }
    if hf.attention_bias == Some(true) {
        return Err(bad("attention_bias = true is not supported (Qwen3.5 has no biases)".into()));
    }
    let num_layers: usize = req!(num_hidden_layers);
    let layer_types = match &hf.layer_types {
        // An explicit list wins over the interval, as in transformers.
        Some(list) => {
            if list.len() != num_layers {
                return Err(bad(format!(
                    "layer_types has {} entries but num_hidden_layers is {num_layers}",
                    list.len()
                )));
            }
            list.iter()
                .map(|s| match s.as_str() {
                    "linear_attention" => Ok(LayerType::LinearAttention),
                    "full_attention" => Ok(LayerType::FullAttention),
                    other => Err(bad(format!("unknown layer type {other:?} in layer_types"))),
                })
                .collect::<Result<Vec<_>>>()?
        }
        None => {
            let interval = hf.full_attention_interval.unwrap_or(4);
            if interval == 0 {
                return Err(bad("full_attention_interval must be positive".into()));
            }
            interval_layer_types(num_layers, interval)
        }
    };
    let rope = hf.rope_parameters.clone();
    if let Some(rt) = rope.as_ref().and_then(|r| r.rope_type.as_deref())
        && rt != "default"
    {
        return Err(bad(format!("rope_type {rt:?} is not supported (only \"default\")")));
    }
    let rope_theta = rope
        .as_ref()
        .and_then(|r| r.rope_theta)
        .or(hf.rope_theta)
        .ok_or_else(|| missing("rope_parameters.rope_theta"))?;
    let partial_rotary_factor =
        rope.as_ref().and_then(|r| r.partial_rotary_factor).or(hf.partial_rotary_factor).unwrap_or(0.25); // transformers' default for Qwen3.5
    let eos_token_ids = match &hf.eos_token_id {
        None | Some(Value::Null) => vec![ENDOFTEXT_ID],
        Some(Value::Number(n)) => {
            vec![n.as_u64().ok_or_else(|| bad("eos_token_id must be a non-negative integer".into()))? as u32]
        }
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_u64().map(|x| x as u32).ok_or_else(|| bad("eos_token_id list must hold integers".into())))
            .collect::<Result<Vec<_>>>()?,
        Some(other) => return Err(bad(format!("eos_token_id {other} is neither an integer nor a list"))),
    };
    let cfg = Qwen35Config {
        vocab_size: req!(vocab_size),
        hidden_size: req!(hidden_size),
        intermediate_size: req!(intermediate_size),
        layer_types,
        num_attention_heads: req!(num_attention_heads),
        num_key_value_heads: req!(num_key_value_heads),
        head_dim: req!(head_dim),
        linear_num_key_heads: req!(linear_num_key_heads),
        linear_num_value_heads: req!(linear_num_value_heads),
        linear_key_head_dim: req!(linear_key_head_dim),
        linear_value_head_dim: req!(linear_value_head_dim),
        linear_conv_kernel_dim: req!(linear_conv_kernel_dim),
        rms_norm_eps: req!(rms_norm_eps),
        rope_theta,
        partial_rotary_factor,
        tie_word_embeddings,
        initializer_range: hf.initializer_range.unwrap_or(0.02),
        eos_token_ids,
    };
    cfg.validate(path)?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_json_round_trips_every_preset() {
        for name in Qwen35Config::PRESETS {
            let cfg = Qwen35Config::preset(name).unwrap();
            let text = serde_json::to_string(&cfg.to_hf_json()).unwrap();
            let back = Qwen35Config::from_json_str(&text, "config.json").unwrap();
            assert_eq!(back, cfg, "{name}");
        }
    }

    /// The text_config block of the published Qwen3.5-0.8B `config.json` (shape fields).
    const QWEN35_08B: &str = r#"{
      "architectures": ["Qwen3_5ForConditionalGeneration"],
      "model_type": "qwen3_5",
      "tie_word_embeddings": true,
      "text_config": {
        "model_type": "qwen3_5_text", "vocab_size": 248320, "hidden_size": 1024,
        "intermediate_size": 3584, "num_hidden_layers": 24, "num_attention_heads": 8,
        "num_key_value_heads": 2, "head_dim": 256, "linear_num_key_heads": 16,
        "linear_num_value_heads": 16, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
        "linear_conv_kernel_dim": 4, "rms_norm_eps": 1e-06, "hidden_act": "silu",
        "full_attention_interval": 4, "eos_token_id": 248044,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000000,
          "partial_rotary_factor": 0.25, "mrope_section": [11, 11, 10], "mrope_interleaved": true}
      },
      "vision_config": {"depth": 12}
    }"#;

    #[test]
    fn nested_config_matches_preset() {
        let cfg = Qwen35Config::from_json_str(QWEN35_08B, "config.json").unwrap();
        assert_eq!(cfg, Qwen35Config::preset("0.8b").unwrap());
        assert_eq!(cfg.layer_pattern(), "LLLF".repeat(6));
        assert_eq!(cfg.rotary_dim(), 64);
    }

    #[test]
    fn published_parameter_counts() {
        // DESIGN.md §3: 0.75 B / 1.88 B / 4.21 B text parameters (tied embeddings).
        let billions = |name| Qwen35Config::preset(name).unwrap().num_params() as f64 / 1e9;
        assert!((billions("0.8b") - 0.75).abs() < 0.006, "{}", billions("0.8b"));
        assert!((billions("2b") - 1.88).abs() < 0.006, "{}", billions("2b"));
        assert!((billions("4b") - 4.21).abs() < 0.006, "{}", billions("4b"));
    }

    #[test]
    fn explicit_layer_types_win_over_interval() {
        let text = QWEN35_08B.replace(
            "\"full_attention_interval\": 4,",
            &format!(
                "\"full_attention_interval\": 4, \"layer_types\": [{}],",
                (0..24)
                    .map(|i| if i == 0 { "\"full_attention\"" } else { "\"linear_attention\"" })
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        );
        let cfg = Qwen35Config::from_json_str(&text, "c.json").unwrap();
        assert_eq!(cfg.layer_pattern(), format!("F{}", "L".repeat(23)));
    }

    #[test]
    fn flat_text_config_and_untied() {
        let v: Value = serde_json::from_str(QWEN35_08B).unwrap();
        let mut text = v["text_config"].clone();
        text["tie_word_embeddings"] = Value::Bool(false);
        text["full_attention_interval"] = Value::from(3);
        let cfg = Qwen35Config::from_json_str(&text.to_string(), "c.json").unwrap();
        assert!(!cfg.tie_word_embeddings);
        assert_eq!(&cfg.layer_pattern()[..6], "LLFLLF");
    }

    #[test]
    fn larger_dense_configs_need_no_code_changes() {
        // transformers' Qwen3_5TextConfig defaults (the 9B-style shape): Hv = 2·Hk, 16 q heads.
        let text = r#"{"model_type": "qwen3_5_text", "vocab_size": 248320, "hidden_size": 4096,
            "intermediate_size": 12288, "num_hidden_layers": 32, "num_attention_heads": 16,
            "num_key_value_heads": 4, "head_dim": 256, "linear_num_key_heads": 16,
            "linear_num_value_heads": 32, "linear_key_head_dim": 128, "linear_value_head_dim": 128,
            "linear_conv_kernel_dim": 4, "rms_norm_eps": 1e-6, "tie_word_embeddings": false,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000000, "partial_rotary_factor": 0.25}}"#;
        let cfg = Qwen35Config::from_json_str(text, "9b.json").unwrap();
        assert_eq!(cfg.layer_pattern(), "LLLF".repeat(8));
        let billions = cfg.num_params() as f64 / 1e9;
        assert!(billions > 8.0 && billions < 10.0, "{billions}");
    }

    #[test]
    fn missing_shape_field_is_an_error() {
        let text = QWEN35_08B.replace("\"hidden_size\": 1024,", "");
        let e = Qwen35Config::from_json_str(&text, "cfg.json").unwrap_err();
        assert!(e.to_string().contains("hidden_size"), "{e}");
    }

    #[test]
    fn unknown_model_type_is_an_error() {
        let text = QWEN35_08B.replace("\"model_type\": \"qwen3_5\"", "\"model_type\": \"llama\"");
        let e = Qwen35Config::from_json_str(&text, "cfg.json").unwrap_err();
        assert!(matches!(e, Qwen35Error::UnsupportedModelType { .. }), "{e}");
        let e = Qwen35Config::from_json_str("{not json", "cfg.json").unwrap_err();
        assert!(matches!(e, Qwen35Error::Config { .. }), "{e}");
    }

    #[test]
    fn bad_head_divisibility_is_an_error() {
        let text = QWEN35_08B.replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3");
        assert!(Qwen35Config::from_json_str(&text, "cfg.json").is_err());
    }
}

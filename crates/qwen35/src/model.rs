//! The Qwen3.5 text decoder: embeddings, decoder layers, final norm and the (tied or untied)
//! output head; loading from a Hugging Face checkpoint or a seeded random initialisation.
//!
//! Mirrors `Qwen3_5TextModel` + `Qwen3_5ForCausalLM` in transformers' `modeling_qwen3_5.py`
//! (5.24). Field names are the checkpoint keys minus `model.language_model.` / `model.`.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

use crate::cache::Cache;
use crate::checkpoint::Checkpoint;
use crate::config::{LayerType, Qwen35Config};
use crate::context::Context;
use crate::decoder_layer::DecoderLayer;
use crate::error::{Qwen35Error, Result};
use crate::nn::{Embedding, Linear, RmsNorm, project};
use crate::params::ParamSource;
use crate::rope::Rope;

/// Added to attention scores that must get no weight. Finite, so a query with no visible key
/// (a padding row) gets a uniform distribution instead of NaN.
const MASKED: f32 = -1.0e9;

/// The text decoder with its output head.
#[derive(Module, Debug)]
pub struct Qwen35 {
    /// `[vocab, hidden]`.
    pub embed_tokens: Embedding,
    /// Decoder layers in order.
    pub layers: Vec<DecoderLayer>,
    /// Final zero-centred RMSNorm.
    pub norm: RmsNorm,
    /// Untied output head `[vocab, hidden]`; `None` when tied to `embed_tokens`.
    pub lm_head: Option<Linear>,
    /// RoPE base.
    pub rope_theta: f64,
    /// Rotated dims per attention head.
    pub rotary_dim: usize,
    /// Conv kernel width of the GDN layers.
    pub conv_kernel: usize,
}

/// A batch of token ids with optional padding and packing information, all on the host.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Token ids, row-major `[batch, len]`.
    pub ids: Vec<i64>,
    /// Rows.
    pub batch: usize,
    /// Tokens per row.
    pub len: usize,
    /// Per token, true for real tokens and false for padding (left padding for generation).
    pub attention_mask: Option<Vec<bool>>,
    /// Per token, the id of the packed example it belongs to; state, conv window, attention and
    /// positions all reset where the id changes.
    pub segment_ids: Option<Vec<u32>>,
}

impl Inputs {
    /// Unpadded, unpacked ids `[batch, len]`.
    pub fn new(ids: Vec<i64>, batch: usize, len: usize) -> Result<Self> {
        if ids.len() != batch * len {
            return Err(Qwen35Error::InvalidInput(format!("{} ids for shape [{batch}, {len}]", ids.len())));
        }
        Ok(Self { ids, batch, len, attention_mask: None, segment_ids: None })
    }

    /// Adds a padding mask (true = real token).
    pub fn with_attention_mask(mut self, mask: Vec<bool>) -> Result<Self> {
        if mask.len() != self.ids.len() {
            return Err(Qwen35Error::InvalidInput(format!(
                "attention mask has {} entries, ids {}",
                mask.len(),
                self.ids.len()
            )));
        }
        self.attention_mask = Some(mask);
        Ok(self)
    }

    /// Adds packing segment ids.
    pub fn with_segment_ids(mut self, segments: Vec<u32>) -> Result<Self> {
        if segments.len() != self.ids.len() {
            return Err(Qwen35Error::InvalidInput(format!(
                "segment ids have {} entries, ids {}",
                segments.len(),
                self.ids.len()
            )));
        }
        self.segment_ids = Some(segments);
        Ok(self)
    }
}

impl Qwen35 {
    /// Loads the decoder from a Hugging Face model directory (`config.json` + safetensors),
    /// with weights converted to `dtype` (F32 or BF16) on `device`.
    pub fn from_pretrained(dir: impl AsRef<Path>, device: &Device, dtype: DType) -> Result<(Self, Qwen35Config)> {
        let dir = dir.as_ref();
        let config = Qwen35Config::from_file(dir.join("config.json"))?;
        let mut checkpoint = Checkpoint::open(dir)?;
        let model = Self::from_checkpoint(&config, &mut checkpoint, device, dtype)?;
        Ok((model, config))
    }

    /// Builds the decoder from an opened checkpoint; fails if a tensor is missing, misshapen,
    /// or left over.
    pub fn from_checkpoint(
        config: &Qwen35Config,
        checkpoint: &mut Checkpoint,
        device: &Device,
        dtype: DType,
    ) -> Result<Self> {
        let model = {
            let mut src = ParamSource::checkpoint(checkpoint, device, dtype);
            Self::build(config, &mut src)?
        };
        // A tied model may still carry a copy of the head; anything else unused means the
        // config and the checkpoint disagree.
        let allowed: &[&str] = if config.tie_word_embeddings { &["lm_head.weight"] } else { &[] };
        let unused = checkpoint.untaken(allowed);
        if !unused.is_empty() {
            return Err(Qwen35Error::UnusedTensors { dir: checkpoint.dir().to_path_buf(), keys: unused });
        }
        Ok(model)
    }

    /// A randomly initialised decoder with transformers' initialiser scales, reproducible from
    /// `seed`.
    pub fn random(config: &Qwen35Config, seed: u64, device: &Device, dtype: DType) -> Result<Self> {
        let mut src = ParamSource::random(seed, config.initializer_range, device, dtype);
        Self::build(config, &mut src)
    }

    fn build(cfg: &Qwen35Config, src: &mut ParamSource) -> Result<Self> {
        cfg.validate(Path::new("<config>"))?;
        let embed_tokens = Embedding::load(src, "embed_tokens", cfg.vocab_size, cfg.hidden_size)?;
        let layers = cfg
            .layer_types
            .iter()
            .enumerate()
            .map(|(i, kind)| DecoderLayer::load(src, &format!("layers.{i}"), cfg, *kind))
            .collect::<Result<Vec<_>>>()?;
        let norm = RmsNorm::load(src, "norm", cfg.hidden_size, cfg.rms_norm_eps)?;
        // Tied: the head is `embed_tokens`; a stray `lm_head.weight` is ignored (from_checkpoint).
        let lm_head = if cfg.tie_word_embeddings {
            None
        } else {
            Some(Linear::load(src, "lm_head", cfg.hidden_size, cfg.vocab_size)?)
        };
        Ok(Self {
            embed_tokens,
            layers,
            norm,
            lm_head,
            rope_theta: cfg.rope_theta,
            rotary_dim: cfg.rotary_dim(),
            conv_kernel: cfg.linear_conv_kernel_dim,
        })
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.embed_tokens.weight.dims()[0]
    }

    /// The dtype the weights are stored in.
    pub fn dtype(&self) -> DType {
        self.embed_tokens.weight.val().dtype()
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.embed_tokens.weight.val().device()
    }

    /// An empty decode cache for `batch` rows.
    pub fn new_cache(&self, batch: usize) -> Cache {
        Cache::new(self.layers.len(), batch)
    }

    /// Logits `[b, t, vocab]` in f32 for unpadded, unpacked rows.
    pub fn forward(&self, ids: Tensor<2, Int>) -> Result<Tensor<3>> {
        let [batch, len] = ids.dims();
        let host: Vec<i64> =
            ids.into_data().convert::<i64>().try_to_vec().map_err(|e| Qwen35Error::InvalidInput(format!("{e:?}")))?;
        let hidden = self.forward_hidden(&Inputs::new(host, batch, len)?, None)?;
        Ok(self.logits(hidden))
    }

    /// Final hidden states `[b, t, hidden]` (after the final norm). With a cache, the tokens
    /// continue the cached ones and the cache is updated.
    pub fn forward_hidden(&self, inputs: &Inputs, mut cache: Option<&mut Cache>) -> Result<Tensor<3>> {
        let device = self.device();
        let (b, t) = (inputs.batch, inputs.len);
        let vocab = self.vocab_size();
        if let Some((position, &id)) = inputs.ids.iter().enumerate().find(|(_, id)| **id < 0 || **id as usize >= vocab)
        {
            return Err(Qwen35Error::OutOfVocab { id, position, vocab_size: vocab });
        }
        if let Some(c) = cache.as_deref()
            && (c.batch() != b || c.layers.len() != self.layers.len())
        {
            return Err(Qwen35Error::InvalidInput(format!("cache holds {} rows, input has {b}", c.batch())));
        }
        if inputs.segment_ids.is_some() && cache.is_some() {
            return Err(Qwen35Error::InvalidInput("packed segment ids cannot be combined with a decode cache".into()));
        }
        let ctx = self.context(inputs, cache.as_deref_mut(), &device);
        let ids = Tensor::<2, Int>::from_data(TensorData::new(inputs.ids.clone(), [b, t]), &device);
        let mut x = self.embed_tokens.forward(ids);
        for (i, layer) in self.layers.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| &mut c.layers[i]);
            x = layer.forward(x, &ctx, layer_cache);
        }
        Ok(self.norm.forward(x))
    }

    /// Runs decoder layer `index` alone on `x` `[b, t, hidden]` (positions, masks and packing
    /// taken from `inputs`): what `bench layer` times, one GDN or attention layer at a time.
    pub fn layer_forward(&self, index: usize, x: Tensor<3>, inputs: &Inputs) -> Result<Tensor<3>> {
        let layer = self.layers.get(index).ok_or_else(|| {
            Qwen35Error::InvalidInput(format!("layer {index} does not exist (the model has {})", self.layers.len()))
        })?;
        let [b, t, _] = x.dims();
        if (b, t) != (inputs.batch, inputs.len) {
            return Err(Qwen35Error::InvalidInput(format!(
                "x is [{b}, {t}, _] but inputs describe {} rows of {} tokens",
                inputs.batch, inputs.len
            )));
        }
        let ctx = self.context(inputs, None, &x.device());
        Ok(layer.forward(x, &ctx, None))
    }

    /// Output head: `[b, t, hidden]` -> logits `[b, t, vocab]` in f32.
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        let head = match &self.lm_head {
            Some(h) => h.weight.val(),
            None => self.embed_tokens.weight.val(),
        };
        project(hidden, head).cast(DType::F32)
    }

    /// Positions, masks and RoPE tables for this call; advances the cache's bookkeeping.
    fn context(&self, inputs: &Inputs, cache: Option<&mut Cache>, device: &Device) -> Context {
        let (b, t) = (inputs.batch, inputs.len);
        let real = |r: usize, i: usize| inputs.attention_mask.as_ref().is_none_or(|m| m[r * t + i]);
        let seg = |r: usize, i: usize| inputs.segment_ids.as_ref().map(|s| s[r * t + i]);

        // 1. Positions: count real tokens, restarting at each packed example.
        let mut positions = vec![0i64; b * t];
        for r in 0..b {
            let mut next = cache.as_ref().map_or(0, |c| c.next_position[r]);
            for i in 0..t {
                if i > 0 && seg(r, i) != seg(r, i - 1) {
                    next = 0;
                }
                positions[r * t + i] = next;
                if real(r, i) {
                    next += 1;
                }
            }
        }

        // 2. Attention bias over cached + new keys: causal, real keys, same example.
        let has_attention = self.layers.iter().any(|l| l.layer_type() == LayerType::FullAttention);
        let cached = cache.as_ref().map_or(0, |c| c.len());
        let plain = inputs.attention_mask.is_none() && inputs.segment_ids.is_none() && cached == 0;
        // The fused kernel sees runs of tokens; a padding hole inside one example (real, pad,
        // real) is not a run, so such batches take the bias path.
        let fused = has_attention
            && cache.is_none()
            && crate::kernel_choice().fused_attention(device)
            && !(0..b).any(|r| has_padding_hole(t, |i| real(r, i), |i| seg(r, i)));
        let attn_groups = fused.then(|| {
            let mut groups = vec![0f32; b * t];
            for r in 0..b {
                for i in 0..t {
                    groups[r * t + i] =
                        if real(r, i) { seg(r, i).unwrap_or(0) as f32 } else { -((r * t + i) as f32) - 1.0 };
                }
            }
            Tensor::<2>::from_data(TensorData::new(groups, [b, t]), (device, DType::F32))
        });
        let attn_bias = (has_attention && !fused).then(|| {
            let rows = if plain { 1 } else { b };
            let total = cached + t;
            let mut bias = vec![0f32; rows * t * total];
            for r in 0..rows {
                for i in 0..t {
                    for j in 0..total {
                        let visible = if j < cached {
                            cache.as_ref().is_none_or(|c| c.key_valid[r][j])
                        } else {
                            let jj = j - cached;
                            jj <= i && real(r, jj) && seg(r, jj) == seg(r, i)
                        };
                        if !visible {
                            bias[(r * t + i) * total + j] = MASKED;
                        }
                    }
                }
            }
            Tensor::<4>::from_data(TensorData::new(bias, [rows, 1, t, total]), (device, DType::F32))
        });
        let rope =
            has_attention.then(|| Rope::new(&positions, b, t, self.rotary_dim, self.rope_theta, self.dtype(), device));

        // 3. Padding and packing masks for the GDN layers.
        let valid = inputs.attention_mask.as_ref().filter(|m| m.iter().any(|x| !x)).map(|m| {
            let v: Vec<f32> = m.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect();
            Tensor::<3>::from_data(TensorData::new(v, [b, t, 1]), (device, DType::F32))
        });
        let (conv_keep, segments) = match &inputs.segment_ids {
            Some(s) => {
                let k = self.conv_kernel - 1;
                let mut keep = vec![0f32; b * t * k];
                for r in 0..b {
                    for i in 0..t {
                        for shift in 1..=k {
                            if i >= shift && s[r * t + i - shift] == s[r * t + i] {
                                keep[(r * t + i) * k + shift - 1] = 1.0;
                            }
                        }
                    }
                }
                let segf: Vec<f32> = s.iter().map(|&x| x as f32).collect();
                (
                    Some(Tensor::<3>::from_data(TensorData::new(keep, [b, t, k]), (device, DType::F32))),
                    Some(Tensor::<2>::from_data(TensorData::new(segf, [b, t]), (device, DType::F32))),
                )
            }
            None => (None, None),
        };

        // 4. Advance the cache bookkeeping past these tokens.
        if let Some(c) = cache {
            for r in 0..b {
                let mut n = 0;
                for i in 0..t {
                    c.key_valid[r].push(real(r, i));
                    n += real(r, i) as i64;
                }
                c.next_position[r] += n;
            }
        }
        Context { rope, attn_bias, attn_groups, valid, conv_keep, segments }
    }
}

/// Whether some padding token sits between two real tokens of the same example in a row of `t`
/// tokens (`real(i)`: token `i` is not padding; `seg(i)`: its example).
fn has_padding_hole<S: PartialEq>(t: usize, real: impl Fn(usize) -> bool, seg: impl Fn(usize) -> S) -> bool {
    let mut last_real: Option<S> = None;
    let mut pad_since = false;
    for i in 0..t {
        if !real(i) {
            pad_since |= last_real.is_some();
        } else {
            let s = seg(i);
            if pad_since && last_real.as_ref() == Some(&s) {
                return true;
            }
            last_real = Some(s);
            pad_since = false;
        }
    }
    false
}

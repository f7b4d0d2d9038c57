//! Decode state, kept outside the modules (which hold only weights): per attention layer the
//! keys and values so far, per GDN layer the last `kernel − 1` conv inputs and the recurrent
//! state; per row the next position and which cached tokens are real (left padding).

use burn::tensor::Tensor;

/// State of one layer; only the fields of that layer's kind are ever set.
#[derive(Debug, Clone, Default)]
pub struct LayerCache {
    /// Attention: keys `[b, kv_heads, cached, head_dim]` (after RoPE).
    pub k: Option<Tensor<4>>,
    /// Attention: values `[b, kv_heads, cached, head_dim]`.
    pub v: Option<Tensor<4>>,
    /// GDN: the last `kernel − 1` pre-conv inputs `[b, kernel − 1, conv_dim]`.
    pub conv: Option<Tensor<3>>,
    /// GDN: recurrent state `[b, Hv, dk, dv]` in f32.
    pub state: Option<Tensor<4>>,
}

impl LayerCache {
    /// Appends new keys/values and returns everything cached so far.
    pub(crate) fn append_kv(&mut self, k: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let k = match self.k.take() {
            Some(old) => Tensor::cat(vec![old, k], 2),
            None => k,
        };
        let v = match self.v.take() {
            Some(old) => Tensor::cat(vec![old, v], 2),
            None => v,
        };
        self.k = Some(k.clone());
        self.v = Some(v.clone());
        (k, v)
    }
}

/// The whole model's decode state for a batch of rows.
#[derive(Debug, Clone)]
pub struct Cache {
    /// One entry per decoder layer.
    pub layers: Vec<LayerCache>,
    /// Per row, whether each cached token is real (false for left padding).
    pub(crate) key_valid: Vec<Vec<bool>>,
    /// Per row, the position id the next real token gets.
    pub(crate) next_position: Vec<i64>,
}

impl Cache {
    /// An empty cache for `batch` rows of a model with `num_layers` layers.
    pub fn new(num_layers: usize, batch: usize) -> Self {
        Self {
            layers: vec![LayerCache::default(); num_layers],
            key_valid: vec![Vec::new(); batch],
            next_position: vec![0; batch],
        }
    }

    /// Rows in the cache.
    pub fn batch(&self) -> usize {
        self.next_position.len()
    }

    /// Tokens cached per row (real and padding).
    pub fn len(&self) -> usize {
        self.key_valid.first().map_or(0, Vec::len)
    }

    /// Whether nothing has been cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

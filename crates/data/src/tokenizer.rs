//! The model's `tokenizer.json`, loaded with `tokenizers`, plus the special ids SFT needs.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};

/// A Qwen-style tokenizer with its ChatML special tokens.
pub struct ChatTokenizer {
    inner: tokenizers::Tokenizer,
    path: PathBuf,
    /// `<|im_end|>`: closes every turn; trained as the end of an assistant turn.
    pub im_end: u32,
    /// `<|endoftext|>`: the padding id.
    pub pad: u32,
}

/// Token ids with the byte span of each token in the encoded text.
pub struct Encoded {
    /// Token ids.
    pub ids: Vec<u32>,
    /// `(start, end)` byte offsets into the text.
    pub offsets: Vec<(usize, usize)>,
}

impl ChatTokenizer {
    /// Loads `dir/tokenizer.json` (or a path to the file itself).
    pub fn from_path(path: &Path) -> Result<Self> {
        let file = if path.is_dir() { path.join("tokenizer.json") } else { path.to_path_buf() };
        let bad = |message: String| DataError::Tokenizer { path: file.clone(), message };
        if !file.is_file() {
            return Err(bad("file not found".into()));
        }
        let inner = tokenizers::Tokenizer::from_file(&file).map_err(|e| bad(e.to_string()))?;
        let id = |t: &str| inner.token_to_id(t).ok_or_else(|| bad(format!("no {t} token")));
        let im_end = id("<|im_end|>")?;
        let pad = id("<|endoftext|>")?;
        Ok(ChatTokenizer { inner, path: file, im_end, pad })
    }

    /// Encodes `text` as-is (special-token strings become their ids; no BOS/EOS added).
    pub fn encode(&self, text: &str) -> Result<Encoded> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| DataError::Tokenizer { path: self.path.clone(), message: e.to_string() })?;
        Ok(Encoded { ids: enc.get_ids().to_vec(), offsets: enc.get_offsets().to_vec() })
    }

    /// Decodes ids back to text (special tokens kept).
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, false)
            .map_err(|e| DataError::Tokenizer { path: self.path.clone(), message: e.to_string() })
    }

    /// The id of a token string (an added token such as `<|im_end|>`, or a vocabulary entry).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

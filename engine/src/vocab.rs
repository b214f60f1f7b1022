//! The raw bytes each token of a model stands for, read from the model's own files.
//!
//! Re-executing an answer means steering the model through the exact text a node returned, so the validator must
//! know which tokens can continue that text. Decoding one token at a time through the tokenizer cannot say that
//! (a token holding half of a UTF-8 character decodes to U+FFFD), so the table is built from the vocabulary's
//! strings: the GPT-2 byte-to-character alphabet of byte-level BPE (Llama 3, Qwen, SmolLM, the tiny test
//! model), or SentencePiece's `▁` and `<0xNN>` byte pieces (Llama 2, Mistral). Special tokens stand for no text.

use std::{
    collections::HashMap,
    fs::File,
    io::BufReader,
    path::{Path, PathBuf},
};

use candle_core::quantized::gguf_file;
use serde_json::Value;

use crate::ModelSource;

/// Why a vocabulary cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `tokenizer.json` or `tokenizer_config.json` is not valid JSON.
    #[error("{} is not valid JSON", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The GGUF metadata could not be read.
    #[error("cannot read the GGUF metadata of {}: {message}", path.display())]
    Gguf {
        /// The file.
        path: PathBuf,
        /// candle's error.
        message: String,
    },
    /// The vocabulary is of a kind this table does not know, or lacks a field it needs.
    #[error("{}: {what}", path.display())]
    Unsupported {
        /// The model file.
        path: PathBuf,
        /// What is missing or unknown.
        what: String,
    },
}

/// What a vocabulary entry's string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// Bytes in the vocabulary's encoding.
    Encoded,
    /// Literal UTF-8 (an added token).
    Raw,
    /// A special token: no text.
    Special,
}

/// How token strings encode bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// GPT-2 byte-level BPE: every byte is one printable character.
    ByteLevel,
    /// SentencePiece: `▁` is a space, `<0xNN>` a raw byte.
    SentencePiece,
}

/// Token id → the bytes it stands for; special tokens stand for none.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    bytes: Vec<Vec<u8>>,
    special: Vec<bool>,
    eos: Vec<u32>,
    encoding: Encoding,
}

impl Vocabulary {
    /// Reads the vocabulary of a model: `tokenizer.json` (+ `tokenizer_config.json`, `generation_config.json`
    /// for the end-of-sequence tokens) of a safetensors directory, or a GGUF file's `tokenizer.ggml.*` metadata.
    pub fn load(source: &ModelSource) -> Result<Self, VocabError> {
        match source {
            ModelSource::Safetensors(dir) => Self::from_tokenizer_json(dir),
            ModelSource::Gguf(file) => Self::from_gguf(file),
        }
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes token `id` adds to the engine's text (none for special or unknown ids, or where the engine
    /// drops them).
    pub fn bytes(&self, id: u32) -> &[u8] {
        self.bytes.get(id as usize).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `id` is a special (control) token.
    pub fn is_special(&self, id: u32) -> bool {
        self.special.get(id as usize).copied().unwrap_or(false)
    }

    /// The end-of-sequence tokens.
    pub fn eos(&self) -> &[u32] {
        &self.eos
    }

    /// Whether `id` is an end-of-sequence token.
    pub fn is_eos(&self, id: u32) -> bool {
        self.eos.contains(&id)
    }

    /// Tokens that may end an answer: the end-of-sequence tokens and every special token (chat templates end
    /// turns with their own, e.g. `<|im_end|>`, which the metadata's single end token may not name).
    pub fn enders(&self) -> impl Iterator<Item = u32> + '_ {
        let special = self.special.iter().enumerate().filter(|(_, s)| **s).map(|(id, _)| id as u32);
        self.eos.iter().copied().chain(special)
    }

    /// How token strings encode bytes.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    fn from_tokenizer_json(dir: &Path) -> Result<Self, VocabError> {
        let tokenizer = read_json(&dir.join("tokenizer.json"))?;
        let unsupported = |what: &str| VocabError::Unsupported { path: dir.join("tokenizer.json"), what: what.into() };
        let vocab = tokenizer["model"]["vocab"].as_object().ok_or_else(|| unsupported("no model.vocab map"))?;
        let encoding = if mentions(&tokenizer["decoder"], "ByteLevel") {
            Encoding::ByteLevel
        } else if mentions(&tokenizer["decoder"], "ByteFallback") || mentions(&tokenizer["decoder"], "Metaspace") {
            Encoding::SentencePiece
        } else {
            return Err(unsupported("the decoder is neither byte-level BPE nor SentencePiece"));
        };
        let mut pieces: HashMap<u32, (String, Piece)> = HashMap::new();
        for (piece, id) in vocab {
            let id = id.as_u64().and_then(|id| u32::try_from(id).ok()).ok_or_else(|| unsupported("a bad token id"))?;
            pieces.insert(id, (piece.clone(), Piece::Encoded));
        }
        let mut by_content: HashMap<String, u32> = pieces.iter().map(|(id, (p, _))| (p.clone(), *id)).collect();
        for added in tokenizer["added_tokens"].as_array().into_iter().flatten() {
            let (Some(id), Some(content)) = (added["id"].as_u64(), added["content"].as_str()) else { continue };
            let id = u32::try_from(id).map_err(|_| unsupported("a bad added token id"))?;
            // The engine's token trie drops special tokens and every added token spelled `<...>` from the text;
            // other added tokens are their literal UTF-8.
            let special =
                added["special"].as_bool().unwrap_or(false) || (content.starts_with('<') && content.ends_with('>'));
            pieces.insert(id, (content.to_string(), if special { Piece::Special } else { Piece::Raw }));
            by_content.insert(content.to_string(), id);
        }
        let mut eos = Vec::new();
        let config = read_json_if_present(&dir.join("tokenizer_config.json"))?;
        let eos_token = config.as_ref().map(|c| &c["eos_token"]);
        let eos_name = eos_token.and_then(|t| t.as_str().or_else(|| t["content"].as_str()));
        if let Some(id) = eos_name.and_then(|name| by_content.get(name)) {
            eos.push(*id);
        }
        if let Some(generation) = read_json_if_present(&dir.join("generation_config.json"))? {
            let ids = &generation["eos_token_id"];
            let ids = ids.as_array().cloned().unwrap_or_else(|| vec![ids.clone()]);
            eos.extend(ids.iter().filter_map(Value::as_u64).filter_map(|id| u32::try_from(id).ok()));
        }
        Self::build(pieces, eos, encoding, dir)
    }

    fn from_gguf(file: &Path) -> Result<Self, VocabError> {
        let gguf_error = |e: candle_core::Error| VocabError::Gguf { path: file.into(), message: e.to_string() };
        let unsupported = |what: &str| VocabError::Unsupported { path: file.into(), what: what.into() };
        let mut reader =
            BufReader::new(File::open(file).map_err(|source| VocabError::Io { path: file.into(), source })?);
        let content = gguf_file::Content::read(&mut reader).map_err(gguf_error)?;
        let meta = |key: &str| content.metadata.get(key).ok_or_else(|| unsupported(&format!("no {key}")));
        let encoding = match meta("tokenizer.ggml.model")?.to_string().map_err(gguf_error)?.as_str() {
            "gpt2" => Encoding::ByteLevel,
            "llama" => Encoding::SentencePiece,
            other => return Err(unsupported(&format!("tokenizer kind {other:?}"))),
        };
        let tokens = meta("tokenizer.ggml.tokens")?.to_vec().map_err(gguf_error)?;
        let types = content.metadata.get("tokenizer.ggml.token_type").map(|t| t.to_vec()).transpose();
        let types = types.map_err(gguf_error)?;
        let mut pieces = HashMap::new();
        for (index, token) in tokens.iter().enumerate() {
            let id = u32::try_from(index).map_err(|_| unsupported("too many tokens"))?;
            // GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
            let kind = types.and_then(|t| t.get(index)).and_then(|t| t.to_i32().ok()).unwrap_or(1);
            let piece = token.to_string().map_err(gguf_error)?.clone();
            let kind = match kind {
                3 | 5 => Piece::Special,
                4 => Piece::Raw,
                _ => Piece::Encoded,
            };
            pieces.insert(id, (piece, kind));
        }
        let eos = meta("tokenizer.ggml.eos_token_id")?.to_u32().map_err(gguf_error)?;
        Self::build(pieces, vec![eos], encoding, file)
    }

    fn build(
        pieces: HashMap<u32, (String, Piece)>,
        mut eos: Vec<u32>,
        encoding: Encoding,
        path: &Path,
    ) -> Result<Self, VocabError> {
        let size = pieces.keys().max().map_or(0, |max| *max as usize + 1);
        let mut bytes = vec![Vec::new(); size];
        let mut special = vec![false; size];
        let decoder = byte_level_decoder();
        for (id, (piece, kind)) in pieces {
            let slot = id as usize;
            special[slot] = kind == Piece::Special;
            if kind != Piece::Special {
                let piece_bytes = match (kind, encoding) {
                    (Piece::Raw, _) => piece.into_bytes(),
                    (_, Encoding::ByteLevel) => {
                        piece.chars().map(|c| decoder.get(&c).copied().unwrap_or(b'?')).collect::<Vec<u8>>()
                    }
                    (_, Encoding::SentencePiece) => sentencepiece_bytes(&piece),
                };
                // mistral.rs decodes through llguidance's token trie, which marks special tokens with a leading
                // 0xFF byte and drops them from the text; a plain token starting with 0xFF is dropped with them.
                if piece_bytes.first() != Some(&0xFF) {
                    bytes[slot] = piece_bytes;
                }
            }
        }
        eos.sort_unstable();
        eos.dedup();
        if eos.is_empty() {
            return Err(VocabError::Unsupported { path: path.into(), what: "no end-of-sequence token".into() });
        }
        Ok(Self { bytes, special, eos, encoding })
    }
}

fn mentions(value: &Value, kind: &str) -> bool {
    match value {
        Value::Object(map) => {
            map.get("type").and_then(Value::as_str) == Some(kind) || map.values().any(|v| mentions(v, kind))
        }
        Value::Array(items) => items.iter().any(|v| mentions(v, kind)),
        _ => false,
    }
}

fn read_json(path: &Path) -> Result<Value, VocabError> {
    let text = std::fs::read(path).map_err(|source| VocabError::Io { path: path.into(), source })?;
    serde_json::from_slice(&text).map_err(|source| VocabError::Json { path: path.into(), source })
}

fn read_json_if_present(path: &Path) -> Result<Option<Value>, VocabError> {
    if path.is_file() { read_json(path).map(Some) } else { Ok(None) }
}

/// GPT-2's alphabet: printable Latin-1 bytes stand for themselves, the other 68 bytes take the characters from
/// U+0100 on, in byte order. Inverted here: character → byte.
fn byte_level_decoder() -> HashMap<char, u8> {
    let printable = |b: u8| (b'!'..=b'~').contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
    let mut next = 0u32;
    let mut decoder = HashMap::with_capacity(256);
    for byte in 0..=255u8 {
        let c = if printable(byte) {
            char::from(byte)
        } else {
            next += 1;
            char::from_u32(255 + next).unwrap_or('\u{FFFD}')
        };
        decoder.insert(c, byte);
    }
    decoder
}

fn sentencepiece_bytes(piece: &str) -> Vec<u8> {
    if let Some(hex) = piece.strip_prefix("<0x").and_then(|p| p.strip_suffix('>'))
        && let Ok(byte) = u8::from_str_radix(hex, 16)
    {
        return vec![byte];
    }
    piece.replace('\u{2581}', " ").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_level_alphabet_covers_every_byte_once() {
        let decoder = byte_level_decoder();
        assert_eq!(decoder.len(), 256);
        assert_eq!(decoder[&'\u{0120}'], b' ', "Ġ is the space");
        assert_eq!(decoder[&'\u{010A}'], b'\n', "Ċ is the newline");
        assert_eq!(decoder[&'a'], b'a');
    }

    #[test]
    fn sentencepiece_pieces_become_bytes() {
        assert_eq!(sentencepiece_bytes("\u{2581}hello"), b" hello");
        assert_eq!(sentencepiece_bytes("<0x0A>"), b"\n");
        assert_eq!(sentencepiece_bytes("<0xE2>"), vec![0xE2]);
    }

    #[test]
    fn the_tiny_models_vocabulary_is_every_byte_plus_its_special_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        neuro_testkit::tiny_model::write(dir.path(), Default::default()).expect("tiny model");
        let source = ModelSource::detect(dir.path()).expect("detect");
        let vocab = Vocabulary::load(&source).expect("vocabulary");
        assert_eq!(vocab.encoding(), Encoding::ByteLevel);
        let plain: Vec<u32> = (0..vocab.len() as u32).filter(|id| !vocab.is_special(*id)).collect();
        assert_eq!(plain.len(), 256);
        assert!(vocab.bytes(255).is_empty(), "the engine drops a 0xFF byte token from its text");
        let mut all: Vec<u8> = plain.iter().flat_map(|id| vocab.bytes(*id).to_vec()).collect();
        all.push(0xFF);
        all.sort_unstable();
        assert_eq!(all, (0..=255u8).collect::<Vec<_>>());
        assert_eq!(vocab.eos().len(), 1);
        assert!(vocab.is_special(vocab.eos()[0]));
        assert!(vocab.bytes(vocab.eos()[0]).is_empty());
    }
}

//! A tiny random-weight Llama model written to disk: real safetensors, config and a byte-level BPE tokenizer
//! with a chat template. Loading it exercises the same code path as a real model; its output is noise.
//!
//! Used by tests (no weights can be downloaded here) and by the devnet when no real model is available.

use std::{collections::BTreeMap, fs, io, path::Path};

use safetensors::tensor::{Dtype, TensorView};
use serde_json::json;

/// Shape of the generated model.
#[derive(Debug, Clone, Copy)]
pub struct TinyModelSpec {
    /// Hidden size.
    pub hidden: usize,
    /// Transformer layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Seed of the weights.
    pub seed: u64,
}

impl Default for TinyModelSpec {
    fn default() -> Self {
        Self { hidden: 128, layers: 2, heads: 4, kv_heads: 2, seed: 7 }
    }
}

/// Byte tokens plus `<s>` and `</s>`.
pub const VOCAB_SIZE: usize = 258;
const BOS: usize = 256;
const EOS: usize = 257;

/// GPT-2's reversible byte-to-character map used by byte-level BPE.
fn byte_to_char() -> Vec<char> {
    let mut printable: Vec<u32> = (b'!'..=b'~').chain(0xA1..=0xAC).chain(0xAE..=0xFF).map(u32::from).collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut extra = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    let mut map = vec!['\0'; 256];
    for (b, c) in printable.into_iter().zip(chars) {
        map[b as usize] = char::from_u32(c).unwrap_or('\0');
    }
    map
}

fn tokenizer_json() -> serde_json::Value {
    let vocab: BTreeMap<String, usize> =
        byte_to_char().into_iter().enumerate().map(|(id, c)| (c.to_string(), id)).collect();
    let special = |id: usize, content: &str| {
        json!({"id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
               "normalized": false, "special": true})
    };
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special(BOS, "<s>"), special(EOS, "</s>")],
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": []}
    })
}

/// Deterministic pseudo-random weights in [-0.05, 0.05) (xorshift64*).
struct Weights(u64);

impl Weights {
    fn tensor(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .flat_map(|_| {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40; // 24 bits
                let v = (r as f32 / (1u64 << 24) as f32 - 0.5) * 0.1;
                v.to_le_bytes()
            })
            .collect()
    }
}

/// Writes `config.json`, `model.safetensors`, `tokenizer.json` and `tokenizer_config.json` into `dir`.
pub fn write(dir: &Path, spec: TinyModelSpec) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let TinyModelSpec { hidden, layers, heads, kv_heads, seed } = spec;
    let head_dim = hidden / heads;
    let intermediate = hidden * 2;
    let config = json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "vocab_size": VOCAB_SIZE,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": false,
        "bos_token_id": BOS,
        "eos_token_id": EOS,
        "hidden_act": "silu",
        "torch_dtype": "float32"
    });
    fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
    fs::write(dir.join("tokenizer.json"), serde_json::to_vec(&tokenizer_json())?)?;
    let chat_template = "{% for message in messages %}{{ '<s>' + message['role'] + '\n' + message['content'] + '</s>' }}\
        {% endfor %}{% if add_generation_prompt %}{{ '<s>assistant\n' }}{% endif %}";
    let tokenizer_config = json!({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": false,
                                  "chat_template": chat_template, "model_max_length": 2048});
    fs::write(dir.join("tokenizer_config.json"), serde_json::to_vec_pretty(&tokenizer_config)?)?;

    let mut rng = Weights(seed.max(1));
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut random = |name: String, shape: Vec<usize>| {
        let data = rng.tensor(shape.iter().product());
        tensors.push((name, shape, data));
    };
    random("model.embed_tokens.weight".into(), vec![VOCAB_SIZE, hidden]);
    random("lm_head.weight".into(), vec![VOCAB_SIZE, hidden]);
    for l in 0..layers {
        let p = format!("model.layers.{l}");
        random(format!("{p}.self_attn.q_proj.weight"), vec![heads * head_dim, hidden]);
        random(format!("{p}.self_attn.k_proj.weight"), vec![kv_heads * head_dim, hidden]);
        random(format!("{p}.self_attn.v_proj.weight"), vec![kv_heads * head_dim, hidden]);
        random(format!("{p}.self_attn.o_proj.weight"), vec![hidden, heads * head_dim]);
        random(format!("{p}.mlp.gate_proj.weight"), vec![intermediate, hidden]);
        random(format!("{p}.mlp.up_proj.weight"), vec![intermediate, hidden]);
        random(format!("{p}.mlp.down_proj.weight"), vec![hidden, intermediate]);
    }
    let ones = |n: usize| (0..n).flat_map(|_| 1f32.to_le_bytes()).collect::<Vec<u8>>();
    for l in 0..layers {
        tensors.push((format!("model.layers.{l}.input_layernorm.weight"), vec![hidden], ones(hidden)));
        tensors.push((format!("model.layers.{l}.post_attention_layernorm.weight"), vec![hidden], ones(hidden)));
    }
    tensors.push(("model.norm.weight".into(), vec![hidden], ones(hidden)));

    let views = tensors
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|view| (name.clone(), view))
                .map_err(|e| io::Error::other(e.to_string()))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(views, None).map_err(|e| io::Error::other(e.to_string()))?;
    fs::write(dir.join("model.safetensors"), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_map_is_a_bijection() {
        let map = byte_to_char();
        let mut unique = map.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 256);
        assert_eq!(map[b'a' as usize], 'a');
        assert_eq!(map[b' ' as usize], 'Ġ');
    }

    #[test]
    fn writes_a_loadable_safetensors_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("neuro-tiny-{}", std::process::id()));
        write(&dir, TinyModelSpec::default())?;
        let bytes = fs::read(dir.join("model.safetensors"))?;
        let tensors = safetensors::SafeTensors::deserialize(&bytes)?;
        assert_eq!(tensors.tensor("lm_head.weight")?.shape(), &[VOCAB_SIZE, 128]);
        assert_eq!(tensors.tensor("model.layers.1.self_attn.k_proj.weight")?.shape(), &[64, 128]);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}

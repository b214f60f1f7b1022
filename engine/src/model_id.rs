//! Model ids: the sha-256 that identifies a model on chain.
//!
//! - GGUF file: sha-256 of the file.
//! - safetensors directory: sha-256 of its canonical manifest, one line per `*.safetensors` file in byte order
//!   of the names: `<name>\t<size in bytes>\t<sha-256 hex of the file>\n`. Renaming, adding or changing a weight
//!   file changes the id; config and tokenizer files do not take part.

use std::{
    fs::File,
    io::{self, Read},
    path::Path,
};

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::{EngineError, ModelSource};

fn hash_file(path: &Path, progress: &ProgressBar) -> io::Result<[u8; 32]> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        progress.inc(n as u64);
    }
    Ok(hasher.finalize().into())
}

fn weight_files(dir: &Path) -> io::Result<Vec<(String, u64)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "safetensors") {
            let name = entry.file_name().to_string_lossy().into_owned();
            files.push((name, entry.metadata()?.len()));
        }
    }
    files.sort();
    Ok(files)
}

/// Computes the model id of `source`, showing a progress bar over the bytes hashed when `show_progress`.
pub fn compute(source: &ModelSource, show_progress: bool) -> Result<[u8; 32], EngineError> {
    let io_error = |e: io::Error| EngineError::Load { path: source.path().to_path_buf(), message: e.to_string() };
    let total = match source {
        ModelSource::Gguf(file) => std::fs::metadata(file).map_err(io_error)?.len(),
        ModelSource::Safetensors(dir) => weight_files(dir).map_err(io_error)?.iter().map(|(_, len)| len).sum(),
    };
    let progress = if show_progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    progress.set_style(
        ProgressStyle::with_template("hashing weights {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let id = match source {
        ModelSource::Gguf(file) => hash_file(file, &progress).map_err(io_error)?,
        ModelSource::Safetensors(dir) => {
            let mut manifest = String::new();
            for (name, len) in weight_files(dir).map_err(io_error)? {
                let digest = hash_file(&dir.join(&name), &progress).map_err(io_error)?;
                manifest.push_str(&format!("{name}\t{len}\t{}\n", hex::encode(digest)));
            }
            Sha256::digest(manifest.as_bytes()).into()
        }
    };
    progress.finish_and_clear();
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuro_testkit::tiny_model::{self, TinyModelSpec};

    #[test]
    fn id_depends_on_weights_only() -> Result<(), Box<dyn std::error::Error>> {
        let base = std::env::temp_dir().join(format!("neuro-id-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        tiny_model::write(&a, TinyModelSpec::default())?;
        tiny_model::write(&b, TinyModelSpec { seed: 8, ..TinyModelSpec::default() })?;
        let id_a = compute(&ModelSource::detect(&a)?, false)?;
        assert_eq!(id_a, compute(&ModelSource::detect(&a)?, false)?);
        assert_ne!(id_a, compute(&ModelSource::detect(&b)?, false)?);
        std::fs::write(a.join("config.json"), b"{}")?;
        assert_eq!(id_a, compute(&ModelSource::Safetensors(a), false)?, "config is not part of the id");

        let gguf = base.join("m.gguf");
        std::fs::write(&gguf, b"GGUF test bytes")?;
        let expected: [u8; 32] = Sha256::digest(b"GGUF test bytes").into();
        assert_eq!(compute(&ModelSource::detect(&gguf)?, false)?, expected);
        assert!(ModelSource::detect(&base.join("missing")).is_err());
        std::fs::remove_dir_all(&base)?;
        Ok(())
    }
}

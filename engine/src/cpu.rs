//! How the engine uses the CPU: the activation dtype, the thread count, and the SIMD features the build needs.
//!
//! mistral.rs 0.8.1 picks activations by trying BF16, then F16, and takes the first a 2×2 matmul accepts; on a
//! CPU that is BF16, which candle computes by converting every operand (and which overflows on some models).
//! GGUF models get no choice at all through its builder. Neuro loads CPU models in F32 unless told otherwise.
//!
//! The dtype is part of what a validator reproduces: two honest machines in different dtypes disagree far beyond
//! floating-point noise, so a model's dtype is pinned by the engine (F32 on CPU), not left to each operator.

use std::str::FromStr;

/// Activations of a loaded model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActivationDType {
    /// 32-bit floats (the CPU default; what validators re-execute with).
    #[default]
    F32,
    /// What mistral.rs picks (BF16 on a CPU).
    Auto,
}

impl FromStr for ActivationDType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f32" => Ok(Self::F32),
            "auto" => Ok(Self::Auto),
            other => Err(format!("dtype '{other}' is not f32 or auto")),
        }
    }
}

impl ActivationDType {
    /// mistral.rs's name for it.
    pub(crate) fn model_dtype(self) -> mistralrs::ModelDType {
        match self {
            Self::F32 => mistralrs::ModelDType::F32,
            Self::Auto => mistralrs::ModelDType::Auto,
        }
    }
}

/// Why this build should not run on this CPU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimdError {
    /// The build uses instructions this CPU lacks (it would die of an illegal instruction mid-request).
    #[error(
        "this build needs the CPU feature {0}, which this CPU lacks: rebuild without `target-cpu` in .cargo/config.toml"
    )]
    CpuLacks(&'static str),
    /// The CPU has AVX2 and FMA but the build does not use them: candle's quantized kernels would fall back to
    /// scalar code, about 3.5× slower.
    #[error(
        "this build does not use the CPU's AVX2/FMA (decoding would be ~3.5x slower): build with the repository's \
         .cargo/config.toml (target-cpu=x86-64-v3), or set NEURO_ALLOW_GENERIC_CPU=1 to run anyway"
    )]
    GenericBuild,
}

/// Checks that the build's SIMD features and the CPU's match: an error for a build the CPU cannot run, or a
/// build that leaves the CPU's vector units unused (unless `allow_generic`).
pub fn check_simd(allow_generic: bool) -> Result<(), SimdError> {
    #[cfg(target_arch = "x86_64")]
    {
        let compiled = [("avx2", cfg!(target_feature = "avx2")), ("fma", cfg!(target_feature = "fma"))];
        let present = [("avx2", is_x86_feature_detected!("avx2")), ("fma", is_x86_feature_detected!("fma"))];
        for ((name, built), (_, here)) in compiled.into_iter().zip(present) {
            if built && !here {
                return Err(SimdError::CpuLacks(name));
            }
        }
        let generic = compiled.iter().any(|(_, built)| !built) && present.iter().all(|(_, here)| *here);
        if generic && !allow_generic {
            return Err(SimdError::GenericBuild);
        }
    }
    let _ = allow_generic;
    Ok(())
}

/// Physical cores, the default thread count: hyper-threads share a core's vector units, so the second thread
/// of a core adds contention, not throughput, to matrix products.
pub fn physical_cores() -> usize {
    num_cpus::get_physical().max(1)
}

/// Sizes the global thread pool candle's CPU kernels run on (`threads`, else the physical cores); a
/// `RAYON_NUM_THREADS` in the environment wins. Returns the count in effect. Call before loading a model.
pub fn configure_threads(threads: Option<usize>) -> usize {
    if std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return rayon::current_num_threads();
    }
    let wanted = threads.unwrap_or_else(physical_cores).max(1);
    if rayon::ThreadPoolBuilder::new().num_threads(wanted).build_global().is_err() {
        // Already built (by the prover, or an earlier model): it stays as it is.
        tracing::warn!(wanted, actual = rayon::current_num_threads(), "the CPU thread pool was already sized");
    }
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_build_runs_here_and_dtypes_parse() {
        // The repository's build targets x86-64-v3, which CI machines have.
        assert_eq!(check_simd(false), Ok(()));
        assert_eq!("f32".parse(), Ok(ActivationDType::F32));
        assert!("f16".parse::<ActivationDType>().is_err());
        assert!(physical_cores() >= 1);
    }
}

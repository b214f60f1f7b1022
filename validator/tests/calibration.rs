//! The comparison's calibration on the tiny model: 1,002 honest answers from processes with 1, 2 and 4 threads
//! and 160 answered eight at a time all pass; answers from another model, a sampling temperature, a truncated or padded text all fail; an
//! in-place quantization fails often enough that a node serving it is caught within a few probes.

use std::{path::Path, process::Command, sync::Arc};

use neuro_engine::{Engine, ModelSource, Sampling, mistralrs::IsqType, vocab::Vocabulary};
use neuro_testkit::tiny_model::{self, TinyModelSpec};
use neuro_validator::{
    calibrate::{self, Answer, Report, Tamper},
    compare::{Claim, Failure, Tolerance},
    reexecute::{JUDGE_BUDGET, MAX_PATHS, replay},
};

const SEED: u64 = 11;

fn answers_from_process(model: &Path, threads: usize, count: usize) -> Vec<Answer> {
    let output = Command::new(env!("CARGO_BIN_EXE_neuro-validator"))
        .args(["calibrate", "answer", "--count", &count.to_string(), "--seed", &SEED.to_string(), "--model"])
        .arg(model)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .expect("run neuro-validator calibrate answer");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("an answer"))
        .collect()
}

fn row(name: &str, report: &Report) {
    eprintln!(
        "| {name} | {} | {} | {} | {} | {:.4} | {} | {:?} |",
        report.comparisons,
        report.failed(),
        report.steps,
        report.near_ties,
        report.worst_margin,
        report.extra_paths,
        report.failures
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_answers_pass_and_substitutions_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("model");
    let other = dir.path().join("other");
    tiny_model::write(&model, TinyModelSpec::default()).expect("tiny model");
    tiny_model::write(&other, TinyModelSpec { seed: 0xD1FF, ..TinyModelSpec::default() }).expect("other model");
    let source = ModelSource::detect(&model).expect("detect");
    let vocab = Arc::new(Vocabulary::load(&source).expect("vocabulary"));
    let validator = Engine::load(source.clone()).await.expect("load");
    let tolerance = Tolerance::default();
    eprintln!("| answers | compared | failed | steps | near-ties | worst accepted margin | extra paths | failures |");

    // Honest: 3 x 334 = 1,002 answers, each from a node process with its own thread count.
    let probes = calibrate::probes(SEED, 334);
    for threads in [1, 2, 4] {
        let answers = answers_from_process(&model, threads, probes.len());
        let report = calibrate::judge_all(&validator, &vocab, &probes, &answers, tolerance).await.expect("judge");
        row(&format!("honest, {threads} thread(s)"), &report);
        assert_eq!(report.comparisons, 334);
        assert_eq!(report.failed(), 0, "an honest answer failed: {report:?}");
    }

    // Honest under load: a busy node answers many requests at once. The engine runs one sequence at a time
    // (batched decoding in mistral.rs 0.8.1 gave other tokens for 36 of 160 answers at two at a time and
    // panicked at four: neuro_engine::Engine), so answers given eight at a time are the same as alone.
    let busy = calibrate::probes(SEED + 1, 160);
    let answers = calibrate::answer_concurrently(&validator, &busy, 8).await.expect("answer concurrently");
    let report = calibrate::judge_all(&validator, &vocab, &busy, &answers, tolerance).await.expect("judge");
    row("honest, 8 requests at once", &report);
    assert_eq!(report.comparisons, 160);
    assert_eq!(report.failed(), 0, "an answer given under load failed: {report:?}");

    // Substitutions, 100 probes each.
    let probes = calibrate::probes(SEED, 100);
    let honest = calibrate::answer(&validator, &probes, None).await.expect("answer");
    let other_engine = Engine::load(ModelSource::detect(&other).expect("detect")).await.expect("load other");
    let cases: Vec<(&str, Vec<Answer>)> = vec![
        ("another model", calibrate::answer(&other_engine, &probes, None).await.expect("answer")),
        ("temperature 0.7", calibrate::answer(&validator, &probes, Some(0.7)).await.expect("answer")),
        ("truncated", honest.iter().map(|a| calibrate::tampered(a, Tamper::Truncate)).collect()),
        ("padded", honest.iter().map(|a| calibrate::tampered(a, Tamper::Pad)).collect()),
    ];
    for (name, answers) in cases {
        let report = calibrate::judge_all(&validator, &vocab, &probes, &answers, tolerance).await.expect("judge");
        row(name, &report);
        assert_eq!(report.failed(), report.comparisons, "{name}: every answer must fail: {report:?}");
    }

    // In-place quantization: an 8-bit model often writes the very same greedy text (nothing to catch in that
    // answer), so detection is per node: the chance that k probes in a row all pass must vanish quickly.
    for (name, isq, min_rate) in [("ISQ Q8_0", IsqType::Q8_0, 0.2), ("ISQ Q4_0", IsqType::Q4_0, 0.8)] {
        let quantized = Engine::load_with(source.clone(), Some(isq)).await.expect("load quantized");
        let answers = calibrate::answer(&quantized, &probes, None).await.expect("answer");
        let report = calibrate::judge_all(&validator, &vocab, &probes, &answers, tolerance).await.expect("judge");
        row(name, &report);
        let rate = report.failed() as f64 / report.comparisons as f64;
        let probes_to_catch = (0.001f64.ln() / (1.0 - rate).ln()).ceil();
        eprintln!(
            "{name}: {:.0}% of answers fail; caught with 99.9% certainty within {probes_to_catch} probes",
            rate * 100.0
        );
        assert!(rate >= min_rate, "{name}: only {:.0}% of answers failed", rate * 100.0);
    }
}

/// Finding 7: a node whose run split the text differently through a near-tie (" th" + "e" where the validator's
/// most likely path takes " the") billed another count for the same text. The judgement looks for that path
/// among the near-ties, so the count passes when such a path exists within tolerance and fails otherwise.
///
/// The tiny model's vocabulary is single bytes, so its only other tokenization of a text inserts a token that
/// adds no text (its BOS); a tolerance wide enough to call it a near-tie stands in for hardware noise. Seed 22's
/// weights end most answers on their own before the limit (the default seed's rarely do), which leaves room for
/// a longer path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_from_another_near_tie_tokenization_passes_and_padding_still_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    tiny_model::write(dir.path(), TinyModelSpec { seed: 22, ..TinyModelSpec::default() }).expect("tiny model");
    let source = ModelSource::detect(dir.path()).expect("detect");
    let vocab = Arc::new(Vocabulary::load(&source).expect("vocabulary"));
    let engine = Engine::load(source).await.expect("load");
    let probes = calibrate::probes(SEED, 12);
    let honest = calibrate::answer(&engine, &probes, None).await.expect("answer");
    let wide = Tolerance { top_k: tiny_model::VOCAB_SIZE, margin: 100.0 };
    let mut exercised = 0;
    for (probe, answer) in probes.iter().zip(&honest) {
        let sampling = Sampling { max_tokens: probe.max_tokens, temperature: Some(0.0), ..Default::default() };
        let judge = |claim: Claim, tolerance| {
            let (engine, vocab, sampling) = (&engine, &vocab, &sampling);
            async move {
                replay(engine, vocab, &probe.messages, sampling, &claim, tolerance, JUDGE_BUDGET)
                    .await
                    .expect("replay")
                    .expect("within the budget")
            }
        };
        let exact = judge(answer.claim(), Tolerance::default()).await;
        assert!(exact.passed() && exact.paths == 1, "{exact:?}");
        let split = Claim { completion_tokens: answer.completion_tokens + 1, ..answer.claim() };
        // Only an answer that ended before its limit leaves room for a longer path.
        if answer.completion_tokens as usize + 1 > probe.max_tokens || answer.text.is_empty() {
            continue;
        }
        exercised += 1;
        // Within the default tolerance no such split exists: one token more is padding.
        let padded = judge(split.clone(), Tolerance::default()).await;
        assert_eq!(
            padded.failure,
            Some(Failure::CompletionTokens { claimed: split.completion_tokens, actual: answer.completion_tokens })
        );
        // Where the other path is a near-tie, the same count is the node's honest path and passes.
        let other_path = judge(split.clone(), wide).await;
        assert!(other_path.passed(), "{other_path:?}");
        assert!(other_path.paths > 1 && other_path.near_ties >= 1, "{other_path:?}");
        // Far more tokens than any path through near-ties takes within the search bound still fail, and the
        // search stops at its bound.
        let padded_far = Claim { completion_tokens: answer.completion_tokens + 40, ..answer.claim() };
        let far = judge(padded_far, wide).await;
        assert!(!far.passed() && far.paths <= MAX_PATHS, "{far:?}");
    }
    assert!(exercised >= 2, "only {exercised} answers ended before their limit");
}

//! Greedy decoding and teacher forcing through the engine's own answers (the tiny model).

use std::sync::Arc;

use neuro_engine::{
    ChatMessage, Engine, ModelSource, Sampling,
    forcing::Steering,
    mistralrs::{ChatCompletionResponse, CustomLogitsProcessor, Tensor},
    vocab::Vocabulary,
};

async fn tiny() -> (tempfile::TempDir, ModelSource, Engine) {
    let dir = tempfile::tempdir().expect("tempdir");
    neuro_testkit::tiny_model::write(dir.path(), Default::default()).expect("tiny model");
    let source = ModelSource::detect(dir.path()).expect("detect");
    let engine = Engine::load(source.clone()).await.expect("load");
    (dir, source, engine)
}

fn ask(content: &str) -> Vec<ChatMessage> {
    vec![ChatMessage::new("user", content)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temperature_zero_is_greedy_and_repeatable() {
    // Regression: mistral.rs reads a missing temperature as 1.0, so "temperature 0" once sampled.
    let (_dir, _, engine) = tiny().await;
    let greedy = Sampling { max_tokens: 24, temperature: Some(0.0), ..Default::default() };
    let text = |r: ChatCompletionResponse| r.choices[0].message.content.clone().unwrap_or_default();
    let first = text(engine.chat(&ask("Why is the sky blue?"), &greedy).await.expect("chat"));
    for _ in 0..3 {
        assert_eq!(text(engine.chat(&ask("Why is the sky blue?"), &greedy).await.expect("chat")), first);
    }
    let identity: Arc<dyn CustomLogitsProcessor> = Arc::new(|logits: &Tensor, _: &[u32]| Ok(logits.clone()));
    let processed = engine.chat_processed(&ask("Why is the sky blue?"), &greedy, identity).await.expect("processed");
    assert_eq!(text(processed), first, "a logits processor that changes nothing changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forcing_the_engines_own_greedy_answers_agrees_at_every_step() {
    let (_dir, source, engine) = tiny().await;
    let vocab = Arc::new(Vocabulary::load(&source).expect("vocabulary"));
    // Several prompts one after another: the engine's prefix cache shortens later prompts' first context.
    for (prompt, max_tokens) in [("Why is the sky blue?", 24), ("Why is the sky blue? Explain.", 40), ("Hi", 8)] {
        let sampling = Sampling { max_tokens, temperature: Some(0.0), ..Default::default() };
        let answer = engine.chat(&ask(prompt), &sampling).await.expect("chat");
        let text = answer.choices[0].message.content.clone().unwrap_or_default();
        let steering = Steering::default();
        let run = engine.chat_forced(&ask(prompt), &sampling, vocab.clone(), &text, &steering).await.expect("forced");
        assert_eq!(run.text, text);
        assert_eq!(run.unreachable_at, None);
        assert_eq!(
            (run.prompt_tokens, run.completion_tokens),
            (answer.usage.prompt_tokens, answer.usage.completion_tokens)
        );
        assert!(run.steps.iter().all(|s| s.rank == 0), "{prompt}: {:?}", run.steps);
    }
}

//! Fine-tune LoRA adapters from your own code: a tiny random Qwen3.5 with the real tokenizer's
//! vocabulary, three conversations held in memory, a few AdamW steps, a PEFT adapter saved.
//! CPU only, no download, well under a minute. For a real run, load the base with
//! `trainer::load_base` from a model directory and drop `random_init`.
//!
//! ```text
//! cargo run --release --example finetune_lora
//! ```

use serde_json::json;
use skillsft_data::formats::{Renderer, Sample};
use skillsft_train::{Examples, RunOptions, TrainConfig, train_model, trainer};

fn main() -> anyhow::Result<()> {
    // The chat template, tokenizer and EOS of a model directory (here only those files).
    let renderer = Renderer::from_model_dir(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../datasets/tokenizer/qwen3.5"
    )))?;
    let conversations = [("2 + 2?", "4"), ("Capital of France?", "Paris"), ("Reverse 'abc'.", "cba")];
    let examples = conversations
        .iter()
        .map(|(q, a)| {
            let messages = vec![json!({"role": "user", "content": q}), json!({"role": "assistant", "content": a})];
            renderer.tokenize(&Sample::Chat { messages }, false) // labels on the answer only
        })
        .collect::<Result<Vec<_>, _>>()?;

    let out = std::env::temp_dir().join("skillsft-finetune-lora");
    let _ = std::fs::remove_dir_all(&out); // a fresh run each time
    let cfg = TrainConfig {
        size: "tiny".into(),
        random_init: true,
        out,
        epochs: 8, // one step per epoch: the three conversations are one micro-batch
        micro_batch: 3,
        grad_accum: 1,
        lr: 2e-2,
        ..TrainConfig::default()
    };
    let device = trainer::training_device(&cfg)?;
    let mut config = qwen35::Qwen35Config::preset("tiny").expect("a preset");
    config.vocab_size = renderer.tokenizer.vocab_size(); // the tiny shape, the real vocabulary
    let base = qwen35::Qwen35::random(&config, 0, &device, burn::tensor::DType::F32)?;

    // LoRA is attached and the base frozen inside; progress could go to a callback instead.
    let summary = train_model(base, &config, Examples::new(examples, Vec::new()), &cfg, &RunOptions::default())?;
    for r in &summary.records {
        println!("step {}  loss {:.3}", r.step, r.loss);
    }
    println!(
        "{} trainable parameters; adapter in {}",
        summary.trainable_params,
        summary.adapter_dir.unwrap().display()
    );
    Ok(())
}

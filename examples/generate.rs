//! Build a tiny random Qwen3.5, run a forward pass and generate a few tokens greedily, all on
//! the CPU with no download. Swap `Qwen35::random` for `Qwen35::from_pretrained("DIR", ..)` to
//! run a real checkpoint.
//!
//! ```text
//! cargo run --release --example generate
//! ```

use burn::tensor::{DType, Device};
use qwen35::{GenerationConfig, Inputs, Qwen35, Qwen35Config, generate};

fn main() -> qwen35::Result<()> {
    let device = Device::flex();
    let config = Qwen35Config::preset("tiny").expect("tiny is a preset");
    println!("layers: {}  parameters: {}", config.layer_pattern(), config.num_params());
    let model = Qwen35::random(&config, 42, &device, DType::F32)?;

    // Logits for one row of four tokens: [1, 4, vocab].
    let hidden = model.forward_hidden(&Inputs::new(vec![1, 2, 3, 4], 1, 4)?, None)?;
    println!("logits shape: {:?}", model.logits(hidden).dims());

    // Two prompts of different lengths, decoded together (left padding is handled inside).
    let prompts = vec![vec![1, 2, 3], vec![7, 8, 9, 10, 11]];
    let cfg = GenerationConfig { max_new_tokens: 8, ..Default::default() };
    for (prompt, new) in prompts.iter().zip(generate(&model, &prompts, &cfg, |_| {})?) {
        println!("{prompt:?} -> {new:?}");
    }
    Ok(())
}

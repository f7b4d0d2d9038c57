//! Load a base model and a PEFT LoRA adapter (one written by `train` or by Python's `peft`),
//! then generate. With no arguments it makes its own: a tiny random base and a random adapter
//! saved to a temporary folder, so it runs on the CPU with no download.
//!
//! ```text
//! cargo run --release --example load_adapter                     # self-contained demo
//! cargo run --release --example load_adapter -- BASE_DIR ADAPTER_DIR
//! ```

use burn::tensor::{DType, Device};
use qwen35::{GenerationConfig, LoraConfig, Qwen35, Qwen35Config, generate};

fn main() -> qwen35::Result<()> {
    let device = Device::flex();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut model, config, adapter) = match args.as_slice() {
        [base, adapter] => {
            let (model, config) = Qwen35::from_pretrained(base, &device, DType::F32)?;
            (model, config, std::path::PathBuf::from(adapter))
        }
        _ => {
            let config = Qwen35Config::preset("tiny").expect("a preset");
            let adapter = std::env::temp_dir().join("skillsft-load-adapter");
            let mut trained = Qwen35::random(&config, 7, &device, DType::F32)?;
            trained.attach_lora(&LoraConfig::default(), 1)?;
            // A fresh adapter (B = 0, as PEFT initialises one), saved as training would save it.
            let prefix = qwen35::peft::PeftLayout::Text.prefix();
            trained.save_peft(&adapter, &LoraConfig::default(), prefix, "random-init:tiny")?;
            (Qwen35::random(&config, 7, &device, DType::F32)?, config, adapter)
        }
    };
    let lora = model.load_peft(&adapter)?; // adapters attached; merge_lora() would fold them in
    println!("adapter {}: rank {}, alpha {}, {} targets", adapter.display(), lora.rank, lora.alpha, lora.targets.len());

    let settings =
        GenerationConfig { max_new_tokens: 8, eos_token_ids: config.eos_token_ids.clone(), ..Default::default() };
    let prompts = vec![vec![1, 2, 3, 4]];
    let replies = generate(&model, &prompts, &settings, |_| {})?;
    println!("{:?} -> {:?}", prompts[0], replies[0]);
    Ok(())
}

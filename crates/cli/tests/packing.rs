//! The data crate's packed SFT rows, fed to the model crate, compute exactly what each
//! example computes alone: `sft::pack`'s `segment_ids` are the boundaries `qwen35` resets
//! attention, the conv window and the Gated DeltaNet state at.

use burn::tensor::{DType, Device, Tensor};
use qwen35::{Inputs, LayerType, Qwen35, Qwen35Config};
use skillsft_data::sft::{IGNORE, SftExample, pack};

/// Same tolerance and reason as `crates/qwen35/tests/model.rs` (`SCHEDULE_REL_TOL`): the GDN
/// chunks fall at other offsets in a packed row, so f32 rounding differs (measured ~3e-4 at
/// |logit| ~7); a leak across a boundary shows up at 1e-2 or more.
const REL_TOL: f32 = 1e-4;

fn logits(model: &Qwen35, inputs: &Inputs) -> Tensor<3> {
    model.logits(model.forward_hidden(inputs, None).unwrap())
}

#[test]
fn packed_sft_rows_equal_separate_examples() {
    let device = Device::flex();
    let mut cfg = Qwen35Config::preset("tiny").unwrap();
    cfg.layer_types = vec![LayerType::LinearAttention, LayerType::FullAttention, LayerType::LinearAttention];
    cfg.initializer_range = 0.2;
    let model = Qwen35::random(&cfg, 3, &device, DType::F32).unwrap();
    let vocab = cfg.vocab_size as u32;
    // Examples shaped like SFT rows: a masked prompt, then trained answer tokens.
    let lens = [37usize, 70, 9, 52, 21];
    let examples: Vec<SftExample> = lens
        .iter()
        .enumerate()
        .map(|(k, &n)| {
            let input_ids: Vec<u32> = (0..n).map(|i| ((i * 7919 + k * 104_729 + 13) as u32) % vocab).collect();
            let labels =
                input_ids.iter().enumerate().map(|(i, &t)| if i < n / 2 { IGNORE } else { t as i64 }).collect();
            SftExample { input_ids, labels }
        })
        .collect();
    let row_len = 100;
    let rows = pack(&examples, row_len, 0);
    assert_eq!(rows.iter().map(|r| r.examples.len()).sum::<usize>(), lens.len());
    assert!(rows.iter().any(|r| r.examples.len() >= 2), "something must actually be packed");
    // One batch of all packed rows, as the trainer will send it.
    let ids: Vec<i64> = rows.iter().flat_map(|r| r.input_ids.iter().map(|&t| t as i64)).collect();
    let segs: Vec<u32> = rows.iter().flat_map(|r| r.segment_ids.clone()).collect();
    let packed = logits(&model, &Inputs::new(ids, rows.len(), row_len).unwrap().with_segment_ids(segs).unwrap());
    for (r, row) in rows.iter().enumerate() {
        let mut offset = 0;
        for &i in &row.examples {
            let ex = &examples[i];
            let n = ex.len();
            let alone = logits(&model, &Inputs::new(ex.input_ids.iter().map(|&t| t as i64).collect(), 1, n).unwrap());
            let got = packed.clone().narrow(0, r, 1).narrow(1, offset, n);
            let scale: f32 = alone.clone().abs().max().into_scalar();
            let err: f32 = (alone - got).abs().max().into_scalar();
            assert!(err <= REL_TOL * scale.max(1.0), "example {i} in row {r}: max |Δ| {err:e} (max |logit| {scale})");
            assert_eq!(&row.labels[offset..offset + n], &ex.labels[..]);
            offset += n;
        }
    }
}

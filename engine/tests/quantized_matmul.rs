//! The patched quantized matmul (vendor/candle-core, see vendor/README.md) computes a prompt of several tokens
//! in one pass over the weights. Its results must be bit-identical to computing each token alone (the decoding
//! path, which the patch leaves as upstream wrote it): validators replay miners' work and compare logits.

use candle_core::{
    Device, Module, Tensor,
    quantized::{GgmlDType, QMatMul, QTensor},
};

fn rows_at_once_equal_rows_alone(dtype: GgmlDType, rows: usize, k: usize, n: usize) -> candle_core::Result<()> {
    let device = Device::Cpu;
    let weight = Tensor::randn(0f32, 1f32, (n, k), &device)?;
    let matmul = QMatMul::from_qtensor(QTensor::quantize(&weight, dtype)?)?;
    let input = Tensor::randn(0f32, 1f32, (1, rows, k), &device)?;

    let together = matmul.forward(&input)?;
    assert_eq!(together.dims(), &[1, rows, n]);
    let together: Vec<Vec<f32>> = together.squeeze(0)?.to_vec2()?;
    for (row, values) in together.iter().enumerate() {
        let alone: Vec<f32> = matmul.forward(&input.narrow(1, row, 1)?)?.flatten_all()?.to_vec1()?;
        let same_bits = values.iter().zip(&alone).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same_bits, "{dtype:?}: row {row} of {rows} differs when computed with the others");
    }
    // And the product is the product: close to the dequantized weights' in relative norm (the activations are
    // quantized too, so a few percent off; a row or column slip would be uncorrelated, ~140% off).
    let reference: Vec<Vec<f32>> = input.squeeze(0)?.matmul(&matmul_weight(&matmul, &device)?.t()?)?.to_vec2()?;
    let (mut error, mut norm) = (0f64, 0f64);
    for (got, want) in together.iter().flatten().zip(reference.iter().flatten()) {
        error += f64::from(got - want).powi(2);
        norm += f64::from(*want).powi(2);
    }
    let relative = (error / norm).sqrt();
    assert!(relative < 0.05, "{dtype:?}: relative error {relative}");
    Ok(())
}

fn matmul_weight(matmul: &QMatMul, device: &Device) -> candle_core::Result<Tensor> {
    match matmul {
        QMatMul::QTensor(q) => q.dequantize(device),
        QMatMul::Tensor(t) | QMatMul::TensorF16(t) => Ok(t.clone()),
    }
}

#[test]
fn an_empty_prompt_is_an_empty_product() -> candle_core::Result<()> {
    let device = Device::Cpu;
    let weight = Tensor::randn(0f32, 1f32, (64, 256), &device)?;
    let matmul = QMatMul::from_qtensor(QTensor::quantize(&weight, GgmlDType::Q8_0)?)?;
    let empty = Tensor::zeros((1, 0, 256), candle_core::DType::F32, &device)?;
    assert_eq!(matmul.forward(&empty)?.dims(), &[1, 0, 64]);
    Ok(())
}

#[test]
fn a_prompt_computed_at_once_matches_token_by_token() -> candle_core::Result<()> {
    // Output widths that do not divide into the patch's column bands, and prompt lengths of 2 and more.
    for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_0, GgmlDType::Q4_1, GgmlDType::Q4K, GgmlDType::Q6K] {
        rows_at_once_equal_rows_alone(dtype, 2, 256, 37)?;
        rows_at_once_equal_rows_alone(dtype, 9, 512, 1001)?;
    }
    Ok(())
}

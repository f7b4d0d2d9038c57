//! Host-side helpers the `flex` kernels share: contiguous f32 views and the two vector loops
//! the compiler vectorises.

use burn::backend::Flex;
use burn::backend::tensor::FloatTensor;
use burn::tensor::DType;

pub(crate) fn host(x: &FloatTensor<Flex>) -> FloatTensor<Flex> {
    let x = x.to_contiguous();
    assert_eq!(x.dtype(), DType::F32, "the fused kernels take f32");
    x
}

pub(crate) fn slice(x: &FloatTensor<Flex>) -> &[f32] {
    x.as_slice::<f32>().expect("a contiguous f32 tensor")
}

/// Dot product in 8 lanes (the compiler vectorises this shape).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `y += a·x`.
pub(crate) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

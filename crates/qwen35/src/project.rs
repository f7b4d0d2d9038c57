//! The one matrix product every projection (and every LoRA factor) goes through.

use burn::tensor::Tensor;

/// `x · Wᵀ` for `W` `[out, in]`, with the leading dims of `x` folded into rows so the backend
/// runs one 2-D GEMM. (On flex, `burn::tensor::module::linear` on a 3-D input took twice as long
/// as the folded 2-D matmul for the 0.8B head: 2.5 s vs 1.2 s.) The product is
/// [`crate::kernels::project`]: on the CPU it writes its output without Burn's zero-fill and
/// copy, and a decode step's few rows read each weight row once.
pub fn project<const D: usize>(x: Tensor<D>, weight: Tensor<2>) -> Tensor<D> {
    let dims = x.dims();
    let d_in = dims[D - 1];
    let rows: usize = dims[..D - 1].iter().product();
    let [d_out, _] = weight.dims();
    let mut out = dims;
    out[D - 1] = d_out;
    let x = x.reshape([rows, d_in]);
    crate::kernels::project(x, weight).reshape(out)
}

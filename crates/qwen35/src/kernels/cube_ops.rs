//! What the CubeCL kernels' launchers share.

use burn::tensor::Shape;
use burn_cubecl::tensor::CubeTensor;

/// An uninitialised f32-or-like tensor on `like`'s device.
pub(crate) fn empty(like: &CubeTensor, shape: Shape) -> CubeTensor {
    let handle = like.client.empty(shape.num_elements() * like.dtype.size());
    CubeTensor::new_contiguous(like.client.clone(), like.device.clone(), shape, handle, like.dtype)
}

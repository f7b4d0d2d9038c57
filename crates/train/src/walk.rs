//! One walk over a module's float parameters that knows each one's path
//! (`layers.0.mlp.up_proj.lora_a`): the key of gradients, optimizer moments and checkpoint
//! tensors alike. Burn's visitors report entering and leaving each submodule; this keeps the
//! path so the optimizer and the checkpoints do not each keep their own.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// Sees every float parameter with its path.
pub trait ParamVisitor {
    /// Called once per parameter.
    fn param<const D: usize>(&mut self, path: &str, param: &Param<Tensor<D>>);
}

/// Rewrites every float parameter, given its path.
pub trait ParamMapper {
    /// Returns the parameter to keep in place of `param`.
    fn param<const D: usize>(&mut self, path: &str, param: Param<Tensor<D>>) -> Param<Tensor<D>>;
}

/// Runs `visitor` over the float parameters of `module`.
pub fn visit<M: Module, V: ParamVisitor>(module: &M, visitor: &mut V) {
    module.visit(&mut Paths { path: Vec::new(), inner: visitor });
}

/// Runs `mapper` over the float parameters of `module`.
pub fn map<M: Module, V: ParamMapper>(module: M, mapper: &mut V) -> M {
    module.map(&mut Paths { path: Vec::new(), inner: mapper })
}

struct Paths<'a, V> {
    path: Vec<String>,
    inner: &'a mut V,
}

impl<V> Paths<'_, V> {
    fn enter(&mut self, name: &str) {
        self.path.push(name.to_string());
    }

    fn exit(&mut self) {
        self.path.pop();
    }
}

impl<V: ParamVisitor> ModuleVisitor for Paths<'_, V> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.enter(name);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.inner.param(&self.path.join("."), param);
    }
}

impl<V: ParamMapper> ModuleMapper for Paths<'_, V> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.enter(name);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.exit();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        self.inner.param(&self.path.join("."), param)
    }
}

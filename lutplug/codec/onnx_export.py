"""ONNX export of a .nlut's network (input: float32 (N, 3) RGB in the LUT's input units;
output: float32 (N, 3)), traced from the torch evaluator so every op is the one the codec runs."""
from __future__ import annotations

from lutplug.codec.nlut import NeuralLUT
from lutplug.codec.torch_eval import TorchEvaluator
from lutplug.errors import LutError, PathLike
from lutplug.fileio import atomic_path
from lutplug.optional import import_torch


def export_onnx(nlut: NeuralLUT, path: PathLike, opset: int = 18) -> None:
    """Write an ONNX model of ``nlut`` to ``path`` (atomically). Needs torch, onnx and onnxscript."""
    torch = import_torch("ONNX export")
    evaluator = TorchEvaluator(nlut)

    class _Module(torch.nn.Module):  # type: ignore[name-defined]  # torch is imported lazily
        def forward(self, rgb):
            return evaluator(rgb)

    example = torch.rand(64, 3)
    evaluator(example)  # build the cached constants outside the trace
    with atomic_path(path) as tmp:
        try:
            program = torch.onnx.export(
                _Module().eval(), (example,), input_names=["rgb"], output_names=["graded"],
                opset_version=opset, dynamic_shapes=({0: torch.export.Dim("pixels")},),
                dynamo=True, verbose=False)
            program.save(str(tmp))
        except (ImportError, ModuleNotFoundError) as exc:
            raise LutError(f"ONNX export needs the onnx package: {exc}", path) from None

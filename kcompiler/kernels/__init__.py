"""The bundled reference kernels, written in the kernel language (Helion's examples' forms)."""

NAMES = (
    "vector_add",
    "vector_exp",
    "embedding",
    "sum",
    "rms_norm",
    "layer_norm",
    "softmax",
    "cross_entropy",
    "jagged_mean",
)

# The bundled forward kernels' backwards are declared in kcompiler.kernels.backward: importing
# any bundled kernel imports this package first, and so wires them.
from kcompiler.kernels import backward  # noqa: E402, F401

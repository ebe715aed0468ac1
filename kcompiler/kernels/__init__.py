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

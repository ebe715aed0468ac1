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


def not_float(kernel: str, name: str, tensor: object) -> Exception:
    """The error for an integer or bool tensor given to a kernel whose torch counterpart takes
    floating-point tensors only (softmax, norms, cross-entropy logits, ...): torch raises for
    those instead of computing, and so do the bundled kernels, whose float math would otherwise
    be truncated into an integer output. Host code calls it as
    ``if not x.dtype.is_floating_point: raise not_float("softmax", "x", x)``."""
    from kcompiler.exc import InvalidArgument

    dtype = getattr(tensor, "dtype", type(tensor).__name__)
    return InvalidArgument(
        f"{kernel}: argument {name!r} has dtype {dtype}; {kernel} takes floating-point "
        f"tensors only (as torch does); cast it first ({name}.float())"
    )

"""Mean cross-entropy loss of logits [N, V] against int64 targets [N], as
``torch.nn.functional.cross_entropy(logits, targets, ignore_index=ignore_index)``: rows whose
target is ``ignore_index`` contribute 0 and are left out of the mean (all rows ignored: NaN,
as torch gives). Any other target outside [0, V) raises ``kcompiler.exc.IndexOutOfBounds``
(on a GPU at the next call or ``kc.check_errors()``)."""

from __future__ import annotations

import torch

import kcompiler as kc
import kcompiler.language as kl


@kc.kernel(ignore_warnings=[kc.exc.TensorOperationInWrapper], float_inputs=["logits"])
def cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100
) -> torch.Tensor:
    n, v = logits.shape
    losses = torch.zeros([n], dtype=logits.dtype, device=logits.device)
    for tile_n in kl.tile(n):
        labels_tile = labels[tile_n]
        kept = labels_tile != ignore_index
        targets = torch.where(kept, labels_tile, 0)
        # Each row's target logit: the row and target index blocks pair up elementwise, and
        # the target is bounds-checked against V.
        logits_at_target = logits[tile_n.index, targets]
        logits_rows = logits[tile_n, :]
        max_logits = torch.amax(logits_rows, dim=-1, keepdim=True)
        shifted = logits_rows - max_logits
        exp_shifted = torch.exp(shifted)
        sum_exp = torch.sum(exp_shifted, dim=-1, keepdim=True)
        log_sum_exp = max_logits.squeeze(-1) + torch.log(sum_exp.squeeze(-1))
        losses[tile_n] = torch.where(kept, log_sum_exp - logits_at_target, 0.0)
    return losses.sum() / (labels != ignore_index).sum()

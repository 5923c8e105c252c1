"""Training losses, one small class each (torch). Scores/logits are ``(B, K)`` or, for ranking, ``(B, L)`` lists
with a boolean ``mask`` marking real (non-padding) entries."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MultiLabelBCE(nn.Module):
    """Binary cross-entropy over independent labels (multi-label), optionally with per-label positive weights."""

    def __init__(self, pos_weight: torch.Tensor | None = None) -> None:
        super().__init__()
        self.register_buffer("pos_weight", pos_weight if pos_weight is not None else None)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        pos_weight = self.pos_weight if isinstance(self.pos_weight, torch.Tensor) else None
        return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight)


class SoftLabelCrossEntropy(nn.Module):
    """Cross-entropy against a target distribution (soft labels): -sum_c y_c log softmax(z)_c, averaged over
    the batch. Targets are normalised per row (vote counts are fine). Label-variance papers: train on the vote
    distribution, not the majority vote."""

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        y = targets / targets.sum(dim=1, keepdim=True).clamp_min(1e-12)
        return -(y * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


class MSELoss(nn.Module):
    """Mean squared error, ignoring NaN targets."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ok = ~torch.isnan(target)
        return ((pred - torch.nan_to_num(target)) ** 2)[ok].mean()


class CCCLoss(nn.Module):
    """1 - concordance correlation coefficient per output column, averaged (Lin 1989):
    CCC = 2 cov(x, y) / (var x + var y + (mean x - mean y)^2)."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred, target = pred.reshape(len(pred), -1), target.reshape(len(target), -1)
        mx, my = pred.mean(0), target.mean(0)
        vx, vy = pred.var(0, unbiased=False), target.var(0, unbiased=False)
        cov = ((pred - mx) * (target - my)).mean(0)
        ccc = 2 * cov / (vx + vy + (mx - my) ** 2).clamp_min(1e-12)
        return (1 - ccc).mean()


class CooccurrencePenalty(nn.Module):
    """lambda * sum_ij y_i P_ij p_j with P_ij = 1 - C_ij / max C, from training co-occurrence counts C
    (our choice of form; docs/methods.md §1.6). Penalises predicting emotions that annotators rarely pick
    together with the gold ones. Averaged over the batch."""

    def __init__(self, cooccurrence: torch.Tensor, weight: float = 0.1) -> None:
        super().__init__()
        c = cooccurrence.float()
        self.register_buffer("penalty", 1 - c / c.max().clamp_min(1e-12))
        self.weight = weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits)
        return self.weight * torch.einsum("bi,ij,bj->b", targets, self.penalty, p).mean()


def _pair_mask(relevance: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, L, L) boolean: item i should rank above item j."""
    valid = mask[:, :, None] & mask[:, None, :]
    return valid & (relevance[:, :, None] > relevance[:, None, :])


class RankNetLoss(nn.Module):
    """RankNet (Burges et al. 2005): mean over ordered pairs of -log sigma(s_i - s_j) for i above j
    (0 for a batch without any ordered pair)."""

    def forward(self, scores: torch.Tensor, relevance: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        mask = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask
        pairs = _pair_mask(relevance, mask)
        diff = scores[:, :, None] - scores[:, None, :]
        return F.softplus(-diff)[pairs].sum() / pairs.sum().clamp_min(1)


class ListNetLoss(nn.Module):
    """ListNet top-one loss (Cao et al. 2007): cross-entropy between softmax(relevance / tau) and
    softmax(scores) over each list; padding gets zero probability on both sides."""

    def __init__(self, temperature: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, scores: torch.Tensor, relevance: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        mask = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask
        neg = torch.finfo(scores.dtype).min
        target = torch.softmax((relevance / self.temperature).masked_fill(~mask, neg), dim=1)
        log_p = torch.log_softmax(scores.masked_fill(~mask, neg), dim=1)
        return -(target * log_p.masked_fill(~mask, 0.0)).sum(dim=1).mean()


class ListMLELoss(nn.Module):
    """ListMLE (Xia et al. 2008), the Plackett-Luce likelihood of the gold order:
    L = sum_i [ log sum_{j >= i} exp(s_pi(j)) - s_pi(i) ] over the list sorted by relevance.
    Padding entries are excluded from every normaliser (a known bug when they are not)."""

    def forward(self, scores: torch.Tensor, relevance: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        mask = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask
        rel = relevance.masked_fill(~mask, float("-inf"))
        order = torch.argsort(rel, dim=1, descending=True, stable=True)
        s = torch.gather(scores, 1, order)
        m = torch.gather(mask, 1, order)
        s_masked = s.masked_fill(~m, float("-inf"))
        # log-cumsum-exp from the end: logsumexp over positions j >= i
        tail = torch.logcumsumexp(s_masked.flip(1), dim=1).flip(1)
        terms = (tail - s).masked_fill(~m, 0.0)
        return (terms.sum(dim=1) / m.sum(dim=1).clamp_min(1)).mean()


class RankListLoss(nn.Module):
    """RankList (2025), listwise generalisation of RankNet with a log-sum-exp bound (our reading, docs/methods.md
    §2.2): for a list ordered best first, L = sum_i log(1 + sum_{i < j <= i + k} exp(s_j - s_i)).

    ``skip`` = k bounds how far below item i its comparisons reach: k = 1 compares neighbours only (local
    constraints), larger k adds the non-local ones. :meth:`set_skip` lets a curriculum grow k during training
    (skip-wise comparisons). With k >= n - 1 every later item is compared. On a list of two this is exactly
    RankNet: log(1 + exp(s_2 - s_1)) = -log sigma(s_1 - s_2). Ties are not compared."""

    def __init__(self, skip: int | None = None) -> None:
        super().__init__()
        self.skip = skip

    def set_skip(self, skip: int | None) -> None:
        self.skip = skip

    def forward(self, scores: torch.Tensor, relevance: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        mask = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask
        rel = relevance.masked_fill(~mask, float("-inf"))
        order = torch.argsort(rel, dim=1, descending=True, stable=True)
        s = torch.gather(scores, 1, order)
        r = torch.gather(rel, 1, order)
        m = torch.gather(mask, 1, order)
        n = s.shape[1]
        idx = torch.arange(n, device=s.device)
        gap = idx[None, :] - idx[:, None]  # j - i
        window = gap > 0 if self.skip is None else (gap > 0) & (gap <= self.skip)
        below = window[None] & m[:, :, None] & m[:, None, :] & (r[:, :, None] > r[:, None, :])
        diff = (s[:, None, :] - s[:, :, None]).masked_fill(~below, float("-inf"))  # s_j - s_i
        lse = torch.logsumexp(diff, dim=2)  # -inf where i has no comparisons
        terms = F.softplus(lse).masked_fill(~below.any(dim=2), 0.0)
        anchors = below.any(dim=2).sum(dim=1).clamp_min(1)
        return (terms.sum(dim=1) / anchors).mean()


class SkipCurriculum:
    """The skip-wise curriculum of RankList (2025): the comparison gap k grows during training, so the model
    first learns local order (neighbours, k = 1) and then non-local constraints (pairs i, i + k for larger k).

    The paper's exact schedule was not recovered; ours (documented in docs/training.md) grows k linearly and
    stepwise from ``start`` to ``end`` over the first ``share`` of the training steps, then keeps ``end``.
    """

    def __init__(self, start: int = 1, end: int = 7, share: float = 0.5) -> None:
        if start < 1 or end < start:
            raise ValueError("skip curriculum needs 1 <= start <= end")
        self.start, self.end, self.share = start, end, share

    def __call__(self, progress: float) -> int:
        """k at ``progress`` in [0, 1] (the share of training steps done)."""
        if self.share <= 0 or progress >= self.share:
            return self.end
        stages = self.end - self.start + 1
        return self.start + min(stages - 1, int(progress / self.share * stages))


RANKING_LOSSES: dict[str, type[nn.Module]] = {
    "ranknet": RankNetLoss, "listnet": ListNetLoss, "listmle": ListMLELoss, "ranklist": RankListLoss}

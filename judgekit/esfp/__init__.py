"""ESFP-RM (arXiv 2508.18212): explanation + masked-LM slot-prediction reward model.

Stage 1 (:mod:`judgekit.esfp.protocol`): any judgekit backend writes a short
explanation of each response. Stage 2 (:mod:`judgekit.esfp.model`): a trained masked
LM fills a label slot laid out by :mod:`judgekit.esfp.slots`; the label-word
probabilities become the reward. :mod:`judgekit.esfp.train` fine-tunes the encoder
(embedded all-MiniLM-L6-v2 by default, :mod:`judgekit.esfp.encoder`) and
:mod:`judgekit.esfp.compare` runs the paper's comparison.

Heavy imports (torch, transformers) happen only inside functions.
"""

from __future__ import annotations

__all__ = ["ESFPModel", "ESFPProtocol", "esfp_reward_fn"]


def __getattr__(name: str) -> object:
    if name in ("ESFPModel", "esfp_reward_fn"):
        from judgekit.esfp import model

        return getattr(model, name)
    if name == "ESFPProtocol":
        from judgekit.esfp.protocol import ESFPProtocol

        return ESFPProtocol
    raise AttributeError(name)

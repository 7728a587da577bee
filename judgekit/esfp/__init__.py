"""ESFP-RM (arXiv 2508.18212): explanation + masked-LM slot-prediction reward model.

Stage 1 (:mod:`judgekit.esfp.protocol`): any judgekit backend writes a short
explanation of each response. Stage 2 (:mod:`judgekit.esfp.model`): a trained masked
LM fills a label slot laid out by :mod:`judgekit.esfp.slots`; the label-word
probabilities become the reward. :mod:`judgekit.esfp.train` fine-tunes the encoder
(embedded all-MiniLM-L6-v2 by default, :mod:`judgekit.esfp.encoder`) and
:mod:`judgekit.esfp.compare` runs the paper's comparison.

Heavy imports (torch, transformers) happen only inside functions, so importing the
package is cheap.
"""

from __future__ import annotations

from judgekit.esfp.model import ESFPModel, esfp_reward_fn
from judgekit.esfp.protocol import ESFPProtocol

__all__ = ["ESFPModel", "ESFPProtocol", "esfp_reward_fn"]

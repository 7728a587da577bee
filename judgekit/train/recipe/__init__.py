"""The judge-training recipe: held-out splits, training data, traces, evaluation.

``judgekit train recipe`` (and ``training/recipes/judgekit_135m.sh``) chain these
modules: :mod:`~judgekit.train.recipe.split` fixes a seeded held-out split per source and
records it in a file; :mod:`~judgekit.train.recipe.build` turns the training side into SFT
and GRPO rows with the paper augmentations from :mod:`judgekit.probe.augment` and its
siblings; :mod:`~judgekit.train.recipe.traces` writes the reasoning targets;
:mod:`~judgekit.train.recipe.heldout` measures a model on the held-out side.
"""

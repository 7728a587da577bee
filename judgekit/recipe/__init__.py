"""The judge-training recipe: held-out splits, training data, traces, evaluation.

``judgekit train recipe`` (and ``training/recipes/judgekit_135m.sh``) chain these
modules: :mod:`~judgekit.recipe.split` fixes a seeded held-out split per source and
records it in a file; :mod:`~judgekit.recipe.build` turns the training side into SFT
and GRPO rows with the paper augmentations from :mod:`judgekit.augment` and its
siblings; :mod:`~judgekit.recipe.traces` writes the reasoning targets;
:mod:`~judgekit.recipe.heldout` measures a model on the held-out side.
"""

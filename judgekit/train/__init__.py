"""Training a judge: distilled traces, label-graded rewards and their trainer adapters, the recipe."""

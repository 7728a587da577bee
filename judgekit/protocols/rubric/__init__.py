"""Rubrics: the YAML schema, contrastive rubric generation and the rubric protocol."""

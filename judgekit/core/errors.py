"""The error every layer raises for a configuration that cannot work.

Input errors keep their own types beside the code that reads the input
(:class:`~judgekit.core.data.DataError`, :class:`~judgekit.core.prompts.TemplateError`);
a backend's failures live with the backend protocol (:mod:`judgekit.core.backend`).
The CLI turns each into one clear line and exit status 2.
"""


class ConfigError(ValueError):
    """A run configuration that cannot work (e.g. logit mode for a free-text protocol)."""

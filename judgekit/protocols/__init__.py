"""Judging protocols: which prompts, in which order, and how answers combine."""

from judgekit.core.errors import ConfigError
from judgekit.protocols.base import (
    JudgeConfig,
    Protocol,
    get_protocol,
    protocol_class,
    protocol_names,
    register_protocol,
)

__all__ = [
    "ConfigError",
    "JudgeConfig",
    "Protocol",
    "get_protocol",
    "protocol_class",
    "protocol_names",
    "register_protocol",
]

"""A model's knobs, read from the ``parameters`` of its config.pbtxt (runs inside Triton's python backend).

A value may name environment variables as ``${NAME}`` (an unset one reads as empty): for what differs per
deployment, such as a weights file or a cache folder. Everything else is set in config.pbtxt itself.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

_VARIABLE = re.compile(r"\$\{(\w+)\}")
_CONFIG_PARAMETER = re.compile(r'parameters \{ key: "(\w+)" value: \{ string_value: "([^"]*)" \} \}')


def model_parameters(args: dict[str, Any]) -> dict[str, str]:
    """The model's parameters (``args`` as Triton hands them to ``initialize``), environment variables expanded."""
    config = json.loads(args["model_config"])
    return {key: _VARIABLE.sub(lambda m: os.environ.get(m.group(1), ""), value["string_value"])
            for key, value in config.get("parameters", {}).items()}


def config_file_parameters(config: Path) -> dict[str, str]:
    """The parameters a config.pbtxt file sets, as written (``${NAME}`` not expanded): for tools that run a model's
    code outside Triton, such as the benchmarks."""
    return dict(_CONFIG_PARAMETER.findall(config.read_text()))


def required(parameters: dict[str, str], key: str) -> str:
    """A parameter that must not be empty (a cache folder, say), with a clear error naming it."""
    if not parameters.get(key):
        raise ValueError(f"config.pbtxt parameter {key!r} is empty (is the environment variable it names set?)")
    return parameters[key]

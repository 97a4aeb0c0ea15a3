"""pyipc: Unix IPC helpers (pipelines, FIFOs, signals, deadlines, reaping).

Kept small on purpose: commands import the one module they need, and the public
names below are loaded on first use, so ``import pyipc`` costs almost nothing.
"""

__version__ = "0.1.0"

_LAZY = {
    "run_pipeline": "pyipc.pipeline",
    "Pipeline": "pyipc.pipeline",
    "PipelineResult": "pyipc.pipeline",
    "StageResult": "pyipc.pipeline",
    "spawn": "pyipc.spawn",
    "SpawnError": "pyipc.errors",
    "PyipcError": "pyipc.errors",
    "ExitStatus": "pyipc.status",
    "split_command": "pyipc.cmdline",
    "parse_duration": "pyipc.durations",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyipc' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

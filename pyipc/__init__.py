"""pyipc: Unix IPC helpers (pipelines, FIFOs, signals, deadlines, reaping).

Kept small on purpose: commands import the one module they need, and the public
names below are loaded on first use, so ``import pyipc`` costs almost nothing.
Type checkers see them through the TYPE_CHECKING imports, which list the same
names as _LAZY (tests/test_typing.py keeps the two in step). The reference is
docs/library.md. (spawn is not among them: once pyipc.spawn, the module, has
been imported, the package attribute is that module; import the function as
``from pyipc.spawn import spawn``.)
"""

__version__ = "0.1.0"

TYPE_CHECKING = False  # typing costs start-up; type checkers take this branch
if TYPE_CHECKING:
    from .cmdline import split_command as split_command
    from .durations import parse_duration as parse_duration
    from .errors import PyipcError as PyipcError
    from .errors import SpawnError as SpawnError
    from .pipeline import Pipeline as Pipeline
    from .pipeline import PipelineError as PipelineError
    from .pipeline import PipelineResult as PipelineResult
    from .pipeline import StageResult as StageResult
    from .pipeline import run_pipeline as run_pipeline
    from .status import ExitStatus as ExitStatus

_LAZY = {
    "run_pipeline": "pyipc.pipeline",
    "Pipeline": "pyipc.pipeline",
    "PipelineError": "pyipc.pipeline",
    "PipelineResult": "pyipc.pipeline",
    "StageResult": "pyipc.pipeline",
    "SpawnError": "pyipc.errors",
    "PyipcError": "pyipc.errors",
    "ExitStatus": "pyipc.status",
    "split_command": "pyipc.cmdline",
    "parse_duration": "pyipc.durations",
}

__all__ = ["__version__", *_LAZY]


if not TYPE_CHECKING:  # a module __getattr__ would make every name valid to type checkers

    def __getattr__(name: str) -> object:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'pyipc' has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(module), name)

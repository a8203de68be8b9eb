"""Files, devices, seeds and the metrics record that every step writes."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    A killed job leaves at most a ``.tmp-*`` file, never something that looks complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def fmt(value: float) -> str:
    """A number as it appears in paths: 0.5 -> '0.5', 1.0 -> '1' (never an exponent; -0.0 -> '0')."""
    return f"{value + 0.0:.6f}".rstrip("0").rstrip(".")


FMT_WIDTH = 20  # the longest number a path holds: 1e19 is 20 digits


def unwritten(value: float) -> str | None:
    """Why fmt(value) would not read back as value in a path or a table (None if it does), with the
    nearest value that can be written: a tiny positive number would print as 0, 0.1234567 as 0.123457."""
    if not math.isfinite(value):
        return f"{value!r} is not a finite number; allowed: a finite number"
    shown = fmt(value) if abs(value) < 10**FMT_WIDTH else "9" * (FMT_WIDTH + 1)  # a huge int overflows a float
    if len(shown) > FMT_WIDTH:
        return (f"{value!r} is over {FMT_WIDTH} digits in paths and tables; allowed: at most {FMT_WIDTH} characters "
                f"(up to 1e19)")
    if float(shown) != value:
        nearest = "0.000001 (the smallest positive one)" if value > 0 and float(shown) == 0 else shown
        return (f"{value!r} is written {shown} in paths and tables, which reads back as another number; allowed: at "
                f"most 6 decimals, e.g. {nearest}")
    return None


def run_paths(option: str, pattern, runs: list[dict]) -> list[Path]:
    """One path per run of a sweep or stack, from a pattern with a {key} per field of the runs (a sweep of one
    may give a plain path); ends the script with one line if two runs would share a path."""
    out = [Path(str(pattern).format(**run)) for run in runs]
    if len(set(out)) < len(out):
        keys = " and ".join("{" + k + "}" for k in runs[0])
        fail(f"--{option} {str(pattern)!r} gives one path to several runs: put {keys} in it")
    return out


def save_torch(path, obj) -> None:
    """torch.save, atomically and byte-reproducibly (torch names the archive inside after the file it
    writes to, so writing the temporary file directly would put its pid in the bytes)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def write_json(path, record: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in ("torch", "numpy", "torchvision"):
        module = sys.modules.get(name)  # only what this step imported: a student never loads torchvision
        if module is not None:
            out[name] = module.__version__
    return out


# The environment variables that choose the CPU kernels torch computes with: ATen's vectorized operations, MKL's
# matrix products, oneDNN's convolutions. On x86 the kernel family (AVX2 or AVX-512) changes float rounding, and
# training carries that into every number (docs/reliability.md).
KERNEL_ENV = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA")
# Config key kernels: portable. Kernels without vendor-specific code paths, so that an Intel and an AMD CPU give the
# same bits: MKL's COMPATIBLE branch (its other branches take vendor-specific paths), and ATen's and oneDNN's AVX2
# kernels (a CPU with AVX-512 would take wider ones). Slower matrix products; what was seen: docs/reliability.md.
PORTABLE_KERNELS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def use_kernels(setting: str, environ=os.environ) -> None:
    """Set the environment jobs inherit for config key kernels: native leaves it as it is (torch's own kernels, or
    what the user set), portable replaces every variable of KERNEL_ENV by PORTABLE_KERNELS."""
    if setting not in ("native", "portable"):
        raise ValueError(f"kernels: {setting!r}; allowed: native, portable")
    if setting == "portable":
        for name in KERNEL_ENV:
            environ.pop(name, None)
        environ.update(PORTABLE_KERNELS)


def kernels() -> dict:
    """The CPU kernel family torch computes with here (torch.backends.cpu.get_cpu_capability(), e.g. "AVX512";
    imports torch) and those of KERNEL_ENV that are set."""
    import torch

    return {"capability": torch.backends.cpu.get_cpu_capability(),
            "env": {name: os.environ[name] for name in KERNEL_ENV if name in os.environ}}


class Record:
    """The metrics.json of one step: the script that wrote it, config, seed, device, per-epoch metrics, versions,
    wall time."""

    def __init__(self, step: str, args, metric: str, device: str):
        self.start = time.perf_counter()
        def plain(v):  # paths as text, also inside lists (--teacher gives one per seed)
            return str(v) if isinstance(v, Path) else [plain(x) for x in v] if isinstance(v, list) else v

        self.data = {"step": step, "script": Path(sys.argv[0]).name,
                     "config": {k: plain(v) for k, v in vars(args).items()}, "metric": metric, "device": device,
                     "epochs": []}

    def write(self, path, **final) -> dict:
        self.data.update(final)
        self.data["versions"] = versions()
        self.data["kernels"] = kernels()
        self.data["wall_seconds"] = round(time.perf_counter() - self.start, 3)
        write_json(path, self.data)
        return self.data


def fail(message: str, code: int = 1):
    """End a step script with a one-line error."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)

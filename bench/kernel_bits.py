"""Which bits, and how fast, under each CPU kernel setting on this machine: for each setting, in a process of its
own (torch reads the kernel variables when it loads), the sha256 of the tiny teacher stack and student sweep of
tests/test_kernels.py, and one core's matrix-product speed (sgemm 2048 x 2048, and the teacher stack's first
product [5, 128, 784] x [5, 784, 256] by torch.bmm; best of 5).

Writes a markdown table, headed with the CPU, to --out. Run it with the cores otherwise idle: it times. Compare
the hashes with another machine's file: the same hashes under a setting on an Intel and an AMD CPU are the same
bits (docs/reliability.md, "The same CPU kernels, too").

Example:
    python bench/kernel_bits.py --out bench/kernels-amd-epyc.md
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))
from distill.io import KERNEL_ENV, PORTABLE_KERNELS  # noqa: E402

SETTINGS = {
    "torch's own (native)": {},
    "the AVX2 trio": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "`MKL_CBWR=AVX2`": {"MKL_CBWR": "AVX2"},
    "`MKL_CBWR=COMPATIBLE`": {"MKL_CBWR": "COMPATIBLE"},
    "`ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=COMPATIBLE`": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE"},
    "portable (`kernels: portable`)": PORTABLE_KERNELS,
}


def one() -> None:
    """In the child: print capability, the two hashes, sgemm and bmm GFLOP/s."""
    import torch
    import test_kernels

    from distill.io import kernels

    teachers, students = test_kernels.trained()
    torch.set_num_threads(1)

    def best(f, n=5):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return min(times)

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a.mm(b)
    sgemm = 2 * 2048**3 / best(lambda: a.mm(b)) / 1e9
    x, w = torch.randn(5, 128, 784), torch.randn(5, 784, 256)

    def bmm():
        for _ in range(100):
            torch.bmm(x, w)

    bmm()
    rate = 100 * 2 * 5 * 128 * 784 * 256 / best(bmm) / 1e9
    print(kernels()["capability"], teachers, students, f"{sgemm:.0f}", f"{rate:.0f}")


if __name__ == "__main__" and os.environ.get("KERNEL_BITS_CHILD"):
    one()
    sys.exit()

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--out", required=True, type=Path, help="markdown file to write")
args = p.parse_args()
cpu = {}
for line in Path("/proc/cpuinfo").read_text().splitlines():
    key, _, value = line.partition(":")
    cpu.setdefault(key.strip(), value.strip())
flags = cpu.get("flags", "").split()
lines = [f"# Kernel settings on {cpu.get('model name', 'unknown')} ({cpu.get('vendor_id', 'unknown')}, family "
         f"{cpu.get('cpu family', '?')} model {cpu.get('model', '?')}; "
         f"{'AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags else 'no AVX2'}; {os.cpu_count()} cores)",
         "", "Written by `bench/kernel_bits.py`: per setting, torch's kernel family, the sha256 (first 12 digits) of "
         "tests/test_kernels.py's tiny teacher stack and student sweep, and one core's GFLOP/s.", "",
         "| setting | torch kernels | teachers' sha256 | students' sha256 | sgemm GFLOP/s | teacher bmm GFLOP/s |",
         "| --- | --- | --- | --- | ---: | ---: |"]
for name, setting in SETTINGS.items():
    env = {**{k: v for k, v in os.environ.items() if k not in KERNEL_ENV}, **setting, "KERNEL_BITS_CHILD": "1"}
    r = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, timeout=600)
    if r.returncode:
        sys.exit(f"error: {name}: {r.stderr.strip().splitlines()[-1]}")
    capability, teachers, students, sgemm, bmm = r.stdout.split()[-5:]
    lines.append(f"| {name} | {capability} | {teachers[:12]} | {students[:12]} | {sgemm} | {bmm} |")
    print(lines[-1], flush=True)
args.out.write_text("\n".join(lines) + "\n")
print(f"wrote {args.out}")

"""The bits a CPU's kernels give: a tiny teacher stack and a tiny student sweep, trained as the study trains them
(distill.models, distill.training.Adam, distill.training.setup: one thread, denormals flushed), hashed and
compared with the sha256 committed below (docs/reliability.md).

Under config kernels: portable (distill.io.PORTABLE_KERNELS) the bits are the same on every machine seen, Intel
or AMD, and other bits fail the test on any CPU, naming it. Under torch's own kernels (native) they depend on the
CPU vendor and kernel family: on a listed vendor and setting other bits fail the test (the published tables would
not be reproduced there); on another the test is skipped with the hashes it got."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from distill import models
from distill.io import PORTABLE_KERNELS, kernels, use_kernels
from distill.training import Adam, setup

AVX2_TRIO = (("ATEN_CPU_CAPABILITY", "avx2"), ("MKL_ENABLE_INSTRUCTIONS", "AVX2"), ("ONEDNN_MAX_CPU_ISA", "AVX2"))
# (CPU vendor, torch's kernel family, kernel variables set) -> (teachers' sha256, students' sha256) under native
# kernels, torch 2.14.1. Intel: the 2-core Intel Xeon (Sapphire Rapids class, AVX-512) of 2026-12-03, the machine
# of the published runs. AMD: the 2-core AMD EPYC (family 25 model 17, Zen 4, AVX-512) of 2026-12-03; MKL takes
# its AVX2 path there whatever ATen's family, so both lines are one.
BITS = {
    ("GenuineIntel", "AVX512", ()): ("8a75f19075186459aba494d8271f0b7c4bde6c6d549563b46a99ae178809afcb",
                                     "3a8ba7bddb9b17b88441a615091399cdacc333a5e348385a227dd6bbe162711b"),
    ("GenuineIntel", "AVX2", AVX2_TRIO): ("c3d99d442ec55b396f078b55ffe8e45e700cc60c0da15bd68d7f4569b5fca231",
                                          "1114e42b2a3db3064c0474efc182c1d3539f383f8b0e943737b0e2ab67d9d22d"),
    ("AuthenticAMD", "AVX512", ()): ("46eff9e876835d2ebb5eba2d92adcb0c86164ea0e65d12f28f0836a5bfa7686a",
                                     "4e32433a2d12dcd1f9579079cc06aeae677c0931729f0156fbcdbdf389ead42d"),
    ("AuthenticAMD", "AVX2", AVX2_TRIO): ("46eff9e876835d2ebb5eba2d92adcb0c86164ea0e65d12f28f0836a5bfa7686a",
                                          "4e32433a2d12dcd1f9579079cc06aeae677c0931729f0156fbcdbdf389ead42d"),
}
# Under PORTABLE_KERNELS, on both machines above (on the Intel one with ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=COMPATIBLE,
# which this small network cannot tell from the three: it calls no oneDNN kernel).
PORTABLE_BITS = ("40a00b55270ae0850b2e325adb57ca74212bd179feceb8b95cce96147dab0e1e",
                 "07acfb9041910e2168f0117a62b9a4f098a5d35e24d6faa709301879093643b5")


def cpu(field: str) -> str:
    """A field of /proc/cpuinfo's first processor: vendor_id (GenuineIntel, AuthenticAMD) or model name."""
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith(field):
            return line.split(":", 1)[1].strip()
    return "unknown"


def digest(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def trained() -> tuple[str, str]:
    """A stack of 2 teachers (784 inputs, as MNIST) and a sweep of 2 seeds x 2 runs, 3 epochs on 256 rows of
    fixed random data, batches drawn on a fixed stream: the products, ReLUs, cross-entropy and fused Adam of a
    study job."""
    threads = torch.get_num_threads()
    setup(1)  # as every job of the study: one thread, denormals flushed
    try:
        g = torch.Generator().manual_seed(20261203)
        x = torch.rand(256, 784, generator=g)
        y = torch.randint(0, 10, (256,), generator=g)
        teachers = models.Teachers(784, 10, [0, 1])
        students = models.Students(784, 10, "classification", [3, 7], per_seed=2)
        for model, runs in ((teachers, 2), (students, 4)):
            optimizer = Adam([(model.parameters(), 1e-3)], fused=True)
            for _ in range(3):
                for idx in torch.randperm(256, generator=g).view(-1, 32):
                    batch = idx.expand(2, -1)  # each teacher, or each seed's runs, on the batch
                    out = model(x[batch])
                    labels = y[idx].expand(runs, -1)
                    loss = F.cross_entropy(out.transpose(1, 2), labels, reduction="none").mean(1)
                    optimizer.zero_grad()
                    loss.sum().backward()
                    optimizer.step()
        return digest(teachers), digest(students)
    finally:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(False)


def test_a_tiny_teacher_stack_and_student_sweep_give_the_published_machines_bits():
    k = kernels()
    key = (cpu("vendor_id"), k["capability"], tuple(sorted(k["env"].items())))
    if k["env"] == PORTABLE_KERNELS:
        pytest.skip("portable kernels: test_the_portable_kernels_give_the_same_bits_on_intel_and_amd")
    got = trained()
    assert trained() == got, "two trainings in one process gave other bits: the kernels are not deterministic"
    if key not in BITS:
        pytest.skip(f"no committed bits for {key} (known: {sorted(BITS)}); this machine gives teachers {got[0]}, "
                    f"students {got[1]}")
    assert got == BITS[key], (f"{cpu('model name')}, {key} gives other bits than the machine of its line: teachers "
                              f"{got[0]}, students {got[1]}; expected {BITS[key]}")


def test_the_portable_kernels_give_the_same_bits_on_intel_and_amd():
    """What config kernels: portable gives every job (distill.io.use_kernels), in a process of its own: the kernel
    variables are read when torch loads."""
    env = dict(os.environ)
    use_kernels("portable", env)
    r = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    *_, capability, teachers, students = r.stdout.split()
    assert capability == "AVX2"
    assert (teachers, students) == PORTABLE_BITS, (
        f"{cpu('model name')} ({cpu('vendor_id')}) gives other bits under the portable kernels {PORTABLE_KERNELS}: "
        f"teachers {teachers}, students {students}; expected {PORTABLE_BITS}")


def test_setup_flushes_denormals_and_adam_through_the_denormal_range_ends_on_the_same_bits():
    """setup() flushes denormals (their arithmetic takes a slow path: docs/speed.md). A weight whose gradient
    stops after one step has a first moment that decays by 0.9 a step through the denormal range (below
    1.2e-38 after about 800 steps); flushed or not, the weights end on the same bits."""
    def train(flush: bool) -> torch.Tensor:
        torch.set_flush_denormal(flush)  # the calling thread's setting: one thread, as a study job
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            w = torch.nn.Parameter(torch.linspace(-0.05, 0.05, 64))
            optimizer = Adam([([w], 1e-3)], fused=True)
            for step in range(1000):
                w.grad = torch.full_like(w, 1e-3) if step == 0 else torch.zeros_like(w)
                optimizer.step()
            moment = optimizer.state[0][0]["exp_avg"]
            return w.detach().clone(), moment
        finally:
            torch.set_flush_denormal(False)
            torch.set_num_threads(threads)

    (plain, moment), (flushed, flushed_moment) = train(False), train(True)
    assert 0 < moment.abs().max() < torch.finfo(torch.float32).tiny  # the moments did reach the denormal range
    assert torch.equal(flushed_moment, torch.zeros_like(flushed_moment))  # and were flushed
    assert torch.equal(plain, flushed)
    threads = torch.get_num_threads()
    try:
        setup(1)
        assert (torch.tensor([1e-39]) * 1.0).item() == 0.0
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(threads)
    assert (torch.tensor([1e-39]) * 1.0).item() != 0.0


if __name__ == "__main__":  # the test above runs this file under the portable kernels
    print(kernels()["capability"], *trained())

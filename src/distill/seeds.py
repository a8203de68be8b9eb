"""Independent random streams, one per (role, seed).

Every random draw of the study belongs to a role: a teacher's initialisation and batch order, a VAE's,
a student's initialisation, a student's batch order, a draw of phi, the draws that make a source domain, the units a
teacher's posterior keeps for a student's prior, a variational student's noise. Each role gets its own stream,
derived from (role, seed) with numpy's SeedSequence, so two roles never share draws even when their
seeds are equal (student seed 0 no longer starts from teacher seed 0's first layer).
"""

from __future__ import annotations

import numpy as np
import torch

ROLES = {
    "teacher_init": 1,
    "teacher_batches": 2,
    "vae_init": 3,
    "vae_draws": 4,  # batch order, class pairing and the reparameterisation noise while fitting
    "student_init": 5,
    "student_batches": 6,
    "phi": 7,  # the draw of phi(x) for one student seed (noise, a VAE reconstruction)
    "domain": 8,  # the draws of psi that make a transformed source domain (noise, VAE reconstructions)
    "prior": 9,  # the teacher units kept when its posterior is reduced to the student's prior (distill.prior)
    "bayes_noise": 10,  # the reparameterisation noise of a variational student (distill.bayes)
}


def stream(role: str, seed: int) -> int:
    """A 63-bit seed for torch, derived from (role, seed)."""
    if role not in ROLES:
        raise ValueError(f"unknown random role {role!r}; known: {', '.join(ROLES)}")
    state = np.random.SeedSequence(entropy=int(seed), spawn_key=(ROLES[role],)).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


def generator(role: str, seed: int) -> torch.Generator:
    """A CPU torch.Generator on the (role, seed) stream (CPU draws are the same on any device)."""
    return torch.Generator().manual_seed(stream(role, seed))

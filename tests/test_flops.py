"""distill.training.Flops, the count of a job's matrix products behind the GFLOP/s per step script
(runtime_table.py, docs/speed.md), against torch's FlopCounterMode over every step and against the closed form."""

from __future__ import annotations

import torch
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from distill import models
from distill.training import Adam, Flops, batches


def teacher_flops_per_row(n_in: int, n_out: int) -> tuple[int, int]:
    """(a training step's FLOPs per row, an evaluation's) of one teacher, by hand: a product of [b, i] by [i, o]
    is 2bio; the backward pass forms every weight's gradient (2bio) and the gradient of every layer's input but
    the first's (the data need none)."""
    sizes = [n_in, *models.TEACHER_HIDDEN, n_out]
    products = [i * o for i, o in zip(sizes[:-1], sizes[1:])]
    return 2 * sum(products) + 2 * sum(products) + 2 * sum(products[1:]), 2 * sum(products)


def test_the_first_step_counted_and_the_rest_scaled_by_rows_is_every_steps_count_and_the_closed_form():
    """A stack of 3 teachers over 200 rows in batches of 64 (the last one 8 rows), one epoch, then an evaluation:
    the meter (FlopCounterMode on the first step only) equals FlopCounterMode over everything, and the closed
    form."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(200, 20, generator=g), torch.randint(0, 4, (200,), generator=g)
    x_test = torch.rand(50, 20, generator=g)

    def epoch(stack, meter):
        optimizer = Adam([(stack.parameters(), 1e-3)], fused=True)
        for idx in batches(200, 64, [torch.Generator().manual_seed(s) for s in (3, 7, 9)], torch.device("cpu")):
            with meter("train", idx.shape[-1]):
                loss = F.cross_entropy(stack(x[idx]).transpose(1, 2), y[idx], reduction="none").mean(1)
                optimizer.zero_grad()
                loss.sum().backward()
                optimizer.step()
        with meter("eval", len(x_test)), torch.no_grad():
            stack(x_test)

    meter = Flops()
    epoch(models.Teachers(20, 4, [3, 7, 9]), meter)
    with FlopCounterMode(display=False) as every:
        epoch(models.Teachers(20, 4, [3, 7, 9]), Flops())  # its own counts nested inside
    train, evaluate = teacher_flops_per_row(20, 4)
    assert round(meter.total) == every.get_total_flops() == 3 * (200 * train + 50 * evaluate)
    assert meter.share(3) == 200 * train + 50 * evaluate

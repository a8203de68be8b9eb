"""Bayesian distillation (distill.gaussian, distill.prior, distill.laplace, distill.bayes and their step scripts
laplace_teacher.py, train_bayes_student.py), each checked against an independent computation: the diagonal chain
against the dense Gaussian formulas, the prior of a teacher that embeds a student against that student, the KL
against torch.distributions, the Laplace precision against an analytic Hessian, a run of a sweep against the run
alone."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from distill import bayes, gaussian, laplace, models, prior
from distill.training import Scaler

IMAGES = ([784, 256, 128, 64, 64, 10], 64)
BIKE = ([58, 256, 128, 64, 64, 1], 32)
TINY = [([3, 6, 5, 4, 4, 2], 4), ([3, 6, 5, 4, 4, 1], 2), ([2, 5, 5, 5, 3], 3)]


def random_posterior(sizes, seed=0):
    g = torch.Generator().manual_seed(seed)
    mean, var = {}, {}
    for (w, b), n_in, n_out in zip(prior.names(len(sizes) - 1), sizes[:-1], sizes[1:]):
        mean[w], mean[b] = torch.randn(n_out, n_in, generator=g), torch.randn(n_out, generator=g)
        var[w], var[b] = torch.rand(n_out, n_in, generator=g) + 0.1, torch.rand(n_out, generator=g) + 0.1
    return mean, var


def flat(p):
    return torch.cat([p["w1"].reshape(-1), p["b1"], p["w2"].reshape(-1), p["b2"]])


def random_spd(n, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    return a @ a.T / n + 0.5 * torch.eye(n, dtype=torch.float64)


# --- the Gaussian operations and the chain ---------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 9), n_fixed=st.integers(1, 8), seed=st.integers(0, 10**6))
def test_dense_conditioning_matches_the_precision_form(n, n_fixed, seed):
    """Given w_f = v: precision of the rest = the rest's block of the joint precision; mean = mu_r - P_rr^-1 P_rf (v -
    mu_f)."""
    n_fixed = min(n_fixed, n - 1)
    g = torch.Generator().manual_seed(seed)
    mean, cov = torch.randn(n, generator=g, dtype=torch.float64), random_spd(n, seed)
    fixed = torch.randperm(n, generator=g)[:n_fixed]
    values = torch.randn(n_fixed, generator=g, dtype=torch.float64)
    m, c, rest = gaussian.condition(mean, cov, fixed, values)
    precision = torch.linalg.inv(cov)
    p_rr, p_rf = precision[rest][:, rest], precision[rest][:, fixed]
    torch.testing.assert_close(torch.linalg.inv(c), p_rr)
    torch.testing.assert_close(m, mean[rest] - torch.linalg.solve(p_rr, p_rf @ (values - mean[fixed])))
    assert sorted(rest.tolist() + fixed.tolist()) == list(range(n))
    # a diagonal covariance: the rest unchanged, whatever the values
    dm, dv, drest = gaussian.condition_diag(mean, torch.diag(cov), fixed)
    m, c, _ = gaussian.condition(mean, torch.diag(torch.diag(cov)), fixed, values)
    assert torch.equal(drest, rest)
    torch.testing.assert_close(dm, m)
    torch.testing.assert_close(torch.diag(c), dv)


@pytest.mark.parametrize("sizes, width", TINY)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_chain_with_a_diagonal_covariance_is_the_diagonal_selection(sizes, width, seed):
    mean, var = random_posterior(sizes, seed)
    keep = prior.keep_sets(sizes, width, seed)
    pm, pv = prior.chain(mean, var, sizes, keep)
    dm, dc = prior.chain_dense(prior.flatten(mean, sizes).double(), torch.diag(prior.flatten(var, sizes).double()),
                               sizes, keep)
    torch.testing.assert_close(dm, flat(pm).double())
    torch.testing.assert_close(dc, torch.diag(flat(pv).double()))  # still diagonal, and the teacher's own variances


@pytest.mark.parametrize("sizes, width", TINY)
def test_dense_chain_step_by_step_equals_conditioning_on_every_fixed_entry_at_once(sizes, width):
    """With a full covariance the steps interact; their result is the law of the student's entries given all fixed
    ones."""
    keep = prior.keep_sets(sizes, width, 3)
    steps, student = prior.plan(sizes, keep)
    n = len(prior.flatten(random_posterior(sizes)[0], sizes))
    mean, cov = torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(5)), random_spd(n, 5)
    fixed = torch.cat([s[1] for s in steps if s[0] == "condition"])
    values = torch.cat([s[2] for s in steps if s[0] == "condition"]).double()
    assert len(set(fixed.tolist())) == len(fixed) and not set(fixed.tolist()) & set(student.tolist())
    m, c, rest = gaussian.condition(mean, cov, fixed, values)
    at = torch.tensor([rest.tolist().index(i) for i in student.tolist()])
    dm, dc = prior.chain_dense(mean, cov, sizes, keep)
    torch.testing.assert_close(dm, m[at])
    torch.testing.assert_close(dc, c[at][:, at])


@pytest.mark.parametrize("sizes, width", [*TINY, ([4, 9, 8, 6, 6, 2], 3)])
def test_the_plan_fixes_deleted_columns_to_zero_and_square_layers_to_the_identity(sizes, width):
    """The fixed entries as the theorems name them, written per layer: the output columns of deleted last-hidden units
    (0); in every middle layer the rows of kept units (the identity between S_l and S_{l+1}, 0 elsewhere) and their
    biases (0). Every other entry but the student's is marginalised."""
    keep = prior.keep_sets(sizes, width, 1)
    steps, student = prior.plan(sizes, keep)
    L = len(sizes) - 2
    expected = []  # per layer: (weight values, bias values), NaN where the entry is not fixed
    for i in range(L + 1):
        w, b = torch.full((sizes[i + 1], sizes[i]), float("nan")), torch.full((sizes[i + 1],), float("nan"))
        if 0 < i < L:
            w[keep[i]] = 0.0
            w[keep[i], keep[i - 1]] = 1.0
            b[keep[i]] = 0.0
        if i == L:
            gone = [j for j in range(sizes[L]) if j not in keep[L - 1].tolist()]
            w[:, gone] = 0.0
        expected.append((w, b))
    expected = torch.cat([torch.cat([w.reshape(-1), b]) for w, b in expected])
    got = torch.full_like(expected, float("nan"))
    marginalised = torch.zeros(len(expected), dtype=torch.bool)
    for step in steps:
        if step[0] == "condition":
            assert got[step[1]].isnan().all()  # each entry fixed once
            got[step[1]] = step[2]
        else:
            marginalised[step[1]] = True
    torch.testing.assert_close(got, expected, equal_nan=True)
    everything = got.isnan().sum() - len(student)
    assert int(marginalised.sum()) == everything and not marginalised[student].any() and got[student].isnan().all()


def embedding_teacher(sizes, width, seed):
    """A teacher that computes a random student [n_in, width, n_out] exactly: its first layer holds the student's at
    rows S_1, its middle layers pass S_l[k] to S_{l+1}[k] (identity entries, zero bias, zeros elsewhere), its last layer
    holds the student's output columns at S_L. Every other first-layer row is random (and read by zero columns)."""
    keep = prior.keep_sets(sizes, width, seed)
    g = torch.Generator().manual_seed(100 + seed)
    student = models.mlp([sizes[0], width, sizes[-1]])
    with torch.no_grad():
        for param in student.parameters():  # weights of the size an initialisation draws (outputs of order 1)
            param.copy_(torch.randn(param.shape, generator=g) / student[0].in_features ** 0.5)
    s = student.state_dict()
    teacher = models.mlp(sizes)
    state = {}
    for i, (w, b) in enumerate(prior.names(len(sizes) - 1)):
        state[w], state[b] = torch.zeros(sizes[i + 1], sizes[i]), torch.zeros(sizes[i + 1])
    state["0.weight"], state["0.bias"] = (torch.randn(sizes[1], sizes[0], generator=g),
                                          torch.randn(sizes[1], generator=g))
    state["0.weight"][keep[0]], state["0.bias"][keep[0]] = s["0.weight"], s["0.bias"]
    for i in range(1, len(sizes) - 2):
        state[f"{2 * i}.weight"][keep[i], keep[i - 1]] = 1.0
    w_last, b_last = prior.names(len(sizes) - 1)[-1]
    state[w_last][:, keep[-1]], state[b_last] = s["2.weight"], s["2.bias"]
    teacher.load_state_dict(state)
    return teacher, student, keep


@pytest.mark.parametrize("sizes, width", [IMAGES, BIKE])
@pytest.mark.parametrize("seed", [0, 7])
def test_round_trip_the_prior_mean_of_a_teacher_that_embeds_a_student_is_that_student(sizes, width, seed):
    teacher, student, keep = embedding_teacher(sizes, width, seed)
    x = torch.rand(50, sizes[0], generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        torch.testing.assert_close(teacher(x), student(x), atol=1e-5, rtol=1e-5)  # the construction
    state = {k: v.detach() for k, v in teacher.state_dict().items()}
    mean, _ = prior.chain(state, {k: torch.ones_like(v) for k, v in state.items()}, sizes,
                          prior.keep_sets(sizes, width, seed))
    rebuilt = models.mlp([sizes[0], width, sizes[-1]])
    rebuilt.load_state_dict({"0.weight": mean["w1"], "0.bias": mean["b1"], "2.weight": mean["w2"],
                             "2.bias": mean["b2"]})
    task = "classification" if sizes[-1] > 1 else "regression"
    variational = bayes.BayesStudents(sizes[0], sizes[-1], task, [seed], ["partial"],
                                      {seed: (mean, {k: torch.ones_like(v) for k, v in mean.items()})})
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), student(x), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(variational(x)[0], student(x), atol=1e-5, rtol=1e-5)  # the student's layout too


@pytest.mark.parametrize("sizes, width", [IMAGES, BIKE, *TINY])
def test_the_prior_is_the_teachers_rows_s1_and_its_output_columns_paired_with_them(sizes, width):
    mean, var = random_posterior(sizes, 4)
    keep = prior.keep_sets(sizes, width, 4)
    assert [len(s) for s in keep] == [width] * (len(sizes) - 2)
    assert all(torch.equal(s, s.sort().values) and len(set(s.tolist())) == width for s in keep)
    w_last, b_last = prior.names(len(sizes) - 1)[-1]
    pm, pv = prior.chain(mean, var, sizes, keep)
    for p, got in ((mean, pm), (var, pv)):
        for k in range(width):
            assert torch.equal(got["w1"][k], p["0.weight"][keep[0][k]])  # a row of the teacher's (out, in) weight
            assert torch.equal(got["b1"][k], p["0.bias"][keep[0][k]])
            assert torch.equal(got["w2"][:, k], p[w_last][:, keep[-1][k]])
        assert torch.equal(got["b2"], p[b_last])
    if sizes[-2] == width:  # images: the output layer is the teacher's as it is, column k with S_1[k]
        assert torch.equal(prior.chain(mean, var, sizes, keep)[0]["w2"], mean[w_last])


def teacher_forward(state, sizes, x, relu=True):
    h = x
    for i, (w, b) in enumerate(prior.names(len(sizes) - 1)):
        h = h @ state[w].T + state[b]
        if relu and i < len(sizes) - 2:
            h = h.relu()
    return h


@pytest.mark.parametrize("sizes, width", [IMAGES, BIKE, *TINY])
def test_the_product_reduction_is_the_teacher_where_its_middle_units_are_active(sizes, width):
    """A teacher whose first layer has only the kept units (the other rows 0) and whose middle layers are positive
    (every middle unit active on positive inputs) is, as a function, exactly the product reduction's student."""
    keep = prior.keep_sets(sizes, width, 5)
    g = torch.Generator().manual_seed(5)
    state = {}
    for i, ((w, b), n_in, n_out) in enumerate(zip(prior.names(len(sizes) - 1), sizes[:-1], sizes[1:])):
        state[w], state[b] = torch.rand(n_out, n_in, generator=g) / n_in, torch.rand(n_out, generator=g)
        if i == len(sizes) - 2:  # the output layer may be negative: no ReLU after it
            state[w], state[b] = state[w] - 0.5 / n_in, state[b] - 0.5
    gone = torch.ones(sizes[1], dtype=torch.bool)
    gone[keep[0]] = False
    state["0.weight"][gone], state["0.bias"][gone] = 0.0, 0.0
    ones = {k: torch.ones_like(v) for k, v in state.items()}
    mean, _ = prior.chain(state, ones, sizes, keep, "product")
    x = torch.rand(40, sizes[0], generator=g)
    student = {"0.weight": mean["w1"], "0.bias": mean["b1"], "2.weight": mean["w2"], "2.bias": mean["b2"]}
    torch.testing.assert_close(teacher_forward(student, [sizes[0], width, sizes[-1]], x),
                               teacher_forward(state, sizes, x), atol=1e-5, rtol=1e-4)
    identity, _ = prior.chain(state, ones, sizes, keep)  # [2]'s: the same first layer, not the same function
    assert torch.equal(identity["w1"], mean["w1"]) and not torch.allclose(identity["w2"], mean["w2"])


def test_the_product_reductions_variance_is_the_first_order_variance_of_the_sampled_product():
    """Weights drawn from a posterior with small variances: the variance of the product's W and b over the draws
    (by numpy, weight by weight) is the delta method's, to first order."""
    sizes, width = [6, 9, 8, 7, 3], 4
    mean, var = random_posterior(sizes, 2)
    var = {k: 1e-4 * v for k, v in var.items()}
    keep = prior.keep_sets(sizes, width, 2)
    _, pv = prior.chain(mean, var, sizes, keep, "product")
    rng = np.random.default_rng(0)
    draws = 4000
    layers = prior.names(len(sizes) - 1)
    sample = {k: mean[k].double().numpy() + np.sqrt(var[k].double().numpy()) * rng.standard_normal(
        (draws, *mean[k].shape)) for pair in layers for k in pair}
    w_prod = np.eye(sizes[1])[None, :, keep[0].numpy()].repeat(draws, 0)  # [draws, h1, width]
    u = np.zeros((draws, sizes[1]))
    for w, b in layers[1:]:
        w_prod = sample[w] @ w_prod
        u = np.einsum("dij,dj->di", sample[w], u) + sample[b]
    np.testing.assert_allclose(pv["w2"].numpy(), w_prod.var(0), rtol=0.15)
    np.testing.assert_allclose(pv["b2"].numpy(), u.var(0), rtol=0.15)


def test_the_same_seed_gives_the_same_units_and_byte_identical_priors():
    sizes, width = BIKE
    mean, var = random_posterior(sizes)

    def saved(seed):
        buffer = io.BytesIO()
        torch.save(prior.chain(mean, var, sizes, prior.keep_sets(sizes, width, seed)), buffer)
        return buffer.getvalue()

    a, b = prior.keep_sets(sizes, width, 3), prior.keep_sets(sizes, width, 3)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert saved(3) == saved(3) and saved(3) != saved(4)
    assert not torch.equal(prior.keep_sets(sizes, width, 4)[0], a[0])


def test_snr_selection_keeps_the_units_with_the_clearest_weights():
    sizes, width = [3, 6, 5, 4, 4, 2], 4
    mean, var = random_posterior(sizes)
    var["0.weight"][[1, 2, 5, 0]] = 1e-6  # four first-layer units with nearly certain weights
    assert prior.keep_sets(sizes, width, 0, "snr", mean, var)[0].tolist() == [0, 1, 2, 5]
    with pytest.raises(ValueError, match="narrower"):
        prior.keep_sets([3, 2, 2], 4, 0)


def test_rescaled_prior_computes_the_teachers_function_in_the_students_units():
    g = torch.Generator().manual_seed(0)
    mean = {"w1": torch.randn(32, 5, generator=g), "b1": torch.randn(32, generator=g),
            "w2": torch.randn(1, 32, generator=g), "b2": torch.randn(1, generator=g)}
    var = {k: torch.rand(v.shape, generator=g) for k, v in mean.items()}
    tx, sx = (Scaler(torch.randn(5, generator=g), torch.rand(5, generator=g) + 0.5),
              Scaler(torch.randn(5, generator=g), torch.rand(5, generator=g) + 0.5))
    ty, sy = Scaler(torch.tensor(3.0), torch.tensor(2.0)), Scaler(torch.tensor(1.0), torch.tensor(4.0))
    m, v = prior.rescale(mean, var, tx, sx, ty, sy)
    x = torch.randn(20, 5, generator=g) * 3

    def net(p, z):
        return (z @ p["w1"].T + p["b1"]).relu() @ p["w2"].T + p["b2"]

    in_bikes = ty.inverse(net(mean, tx(x)))
    torch.testing.assert_close(sy.inverse(net(m, sx(x))), in_bikes, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(v["w1"], var["w1"] * (sx.std / tx.std) ** 2)
    assert torch.equal(
        prior.rescale(mean, var, Scaler(torch.zeros(5), torch.ones(5)), Scaler(torch.zeros(5), torch.ones(5)))[0]["w1"],
                       mean["w1"])


# --- the teacher's Laplace posterior ---------------------------------------------------------------------


def test_laplace_precision_of_a_logistic_regression_is_its_hessian_diagonal():
    """Softmax regression is linear in its weights: the GGN is the Hessian, sum_n p_c (1 - p_c) x_j^2 (bias: x_j =
    1)."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(300, 4, generator=g), torch.randint(0, 3, (300,), generator=g)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3))
    mean, var, noise = laplace.posterior(model, x, y, "classification", sigma0=2.0, batch_size=128)
    with torch.no_grad():
        p = model(x).softmax(1)
    curvature = p * (1 - p)  # [N, C]
    torch.testing.assert_close(1 / var["0.weight"] - 0.25, curvature.T @ x**2, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(1 / var["0.bias"] - 0.25, curvature.sum(0), rtol=1e-4, atol=1e-4)
    assert noise is None and torch.equal(mean["0.weight"], model[0].weight.detach())
    # the same Hessian by autograd, entry by entry of the flattened weights
    w0 = model[0].weight.detach().clone()

    def loss(w):
        return torch.nn.functional.cross_entropy(x @ w.reshape(3, 4).T + model[0].bias.detach(), y, reduction="sum")

    hessian = torch.autograd.functional.hessian(loss, w0.reshape(-1))
    torch.testing.assert_close(1 / var["0.weight"].reshape(-1) - 0.25, torch.diag(hessian), rtol=1e-4, atol=1e-4)


def test_laplace_defaults_to_a_unit_prior_leaves_the_model_alone_and_does_not_depend_on_the_batch_size():
    """posterior()'s defaults: sigma0 = 1 adds a precision of 1; the GGN is a sum over rows, so the batch size (the
    default and others) changes nothing beyond rounding; BackPACK's hooks go on a copy, never on the caller's
    model (mutants of docs/mutation.md)."""
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(300, 4, generator=g), torch.randint(0, 3, (300,), generator=g)
    model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _, var, _ = laplace.posterior(model, x, y, "classification")
    assert all(not m._forward_hooks and not m._backward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(not hasattr(m, "input0") for m in model.modules())  # BackPACK's saved inputs
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    _, var_big, _ = laplace.posterior(model, x, y, "classification", sigma0=0.5, batch_size=7)
    for k in var:  # a precision of 1 / 0.5^2 = 4 against the default's 1, at any batch size
        torch.testing.assert_close(1 / var_big[k] - 4, 1 / var[k] - 1, rtol=1e-4, atol=1e-4)


def test_laplace_precision_of_a_linear_gaussian_regression_is_x_squared_over_the_noise():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(200, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3 * torch.randn(200, 1, generator=g)
    model = torch.nn.Sequential(torch.nn.Linear(3, 1))
    mean, var, noise = laplace.posterior(model, x, y, "regression", sigma0=1.0)
    with torch.no_grad():
        assert noise == pytest.approx(float(((model(x) - y) ** 2).mean()), rel=1e-5)
    torch.testing.assert_close(1 / var["0.weight"][0] - 1, (x**2).sum(0) / noise, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(1 / var["0.bias"] - 1, torch.tensor([200 / noise]), rtol=1e-4, atol=1e-3)


# --- the variational student ---------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(0.05, 3), st.floats(-3, 3), st.floats(0.05, 3)), min_size=1,
                max_size=20))
def test_closed_form_kl_equals_torch_distributions_summed(entries):
    mq, sq, mp, sp = (torch.tensor(c, dtype=torch.float64) for c in zip(*entries))
    ours = bayes.kl_diag(mq, sq**2, mp, sp**2).sum()
    theirs = torch.distributions.kl_divergence(torch.distributions.Normal(mq, sq),
                                               torch.distributions.Normal(mp, sp)).sum()
    torch.testing.assert_close(ours, theirs)
    torch.testing.assert_close(bayes.kl_diag(mq, sq**2, mq, sq**2).sum(), torch.tensor(0.0, dtype=torch.float64))


def test_the_fused_kl_has_the_value_and_gradients_of_autograd_through_the_closed_form():
    """bayes._PosteriorKL writes out the KL's gradients (docs/speed.md): in float64 they must equal autograd's
    through kl_diag, for the KL alone, for the variances alone and for both at once, at generic points."""
    g = torch.Generator().manual_seed(11)
    shape = (3, 5, 4)  # [runs, in, out]
    mu, log_sd, pm = (torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(3))
    pv = torch.rand(shape, generator=g, dtype=torch.float64) * 2 + 0.1
    upstream_kl, upstream_var = torch.randn(3, generator=g, dtype=torch.float64), torch.randn(shape, generator=g,
                                                                                             dtype=torch.float64)
    const = pv.log().flatten(1).sum(1) - pv[0].numel()
    for weights in ((1, 0), (0, 1), (1, 1)):
        a, b = (t.clone().requires_grad_() for t in (mu, log_sd))
        kl, var = bayes._PosteriorKL.apply(a, b, pm, 1 / pv, const)
        (weights[0] * (kl * upstream_kl).sum() + weights[1] * (var * upstream_var).sum()).backward()
        c, d = (t.clone().requires_grad_() for t in (mu, log_sd))
        ref_var = (2 * d).exp()
        ref_kl = bayes.kl_diag(c, ref_var, pm, pv).flatten(1).sum(1)
        (weights[0] * (ref_kl * upstream_kl).sum() + weights[1] * (ref_var * upstream_var).sum()).backward()
        torch.testing.assert_close(kl, ref_kl, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(var, ref_var, rtol=1e-12, atol=0)
        torch.testing.assert_close(a.grad, c.grad, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(b.grad, d.grad, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda x, y: bayes._PosteriorKL.apply(x, y, pm, 1 / pv, const),
                                    (mu.clone().requires_grad_(), log_sd.clone().requires_grad_()))


def test_the_students_kl_is_the_sum_over_its_weights_per_run():
    sizes, width = [6, 80, 70, 64, 3], 64
    mean, var = random_posterior(sizes)
    p = prior.chain(mean, var, sizes, prior.keep_sets(sizes, width, 0))
    s = bayes.BayesStudents(6, 3, "classification", [0], ["none", "partial", "full", "init"], {0: p}, sigma0=0.5,
                            kappa=2.0, init_sd=0.1)
    q = torch.distributions.Normal
    for m, arm in enumerate(s.arms):
        run = s.run(m)
        total = 0.0
        for k in bayes.LAYERS:
            pm = p[0][k] if arm in ("partial", "full") else torch.zeros_like(p[0][k])
            ps = (p[1][k] * 2.0).sqrt() if arm == "full" else torch.full_like(p[0][k], 0.5)
            total += torch.distributions.kl_divergence(q(run[f"mean_{k}"], run[f"sd_{k}"]), q(pm, ps)).sum()
        torch.testing.assert_close(s.kl()[m], total, rtol=1e-5, atol=1e-3)
        assert torch.allclose(run["sd_w1"], torch.tensor(0.1))
    # teacher starts
    assert torch.equal(s.run(1)["mean_w1"], p[0]["w1"]) and torch.equal(s.run(3)["mean_w2"], p[0]["w2"])
    plain = models.Students(6, 3, "classification", [0]).run(0)
    assert torch.equal(s.run(0)["mean_w1"], plain["w1"].T)  # none: the standard initialisation of the plain student


def test_local_reparameterisation_draws_the_preactivations_of_sampled_weights():
    """One layer: a^T w + b with w ~ N(mu, sd^2) drawn weight by weight has the law the layer samples directly."""
    torch.manual_seed(0)
    s = bayes.BayesStudents(5, 2, "classification", [0], ["none"], init_sd=0.3)
    a = torch.rand(1, 1, 5)
    draws = 20000
    direct = s._layer(a.expand(1, draws, 5), "w1", "b1", torch.randn(1, draws, s.hidden))[0]  # [draws, hidden]
    w = s.mu_w1[0] + s.sd("w1")[0] * torch.randn(draws, 5, s.hidden)
    b = s.mu_b1[0] + s.sd("b1")[0] * torch.randn(draws, 1, s.hidden)
    sampled = (a[0] @ w + b)[:, 0]
    with torch.no_grad():
        torch.testing.assert_close(direct.mean(0), sampled.mean(0), atol=0.03, rtol=0)
        torch.testing.assert_close(direct.var(0), sampled.var(0), rtol=0.08, atol=0)
        expected = (a[0, 0] ** 2) @ s.sd("w1")[0] ** 2 + s.sd("b1")[0, 0] ** 2
        torch.testing.assert_close(direct.var(0), expected, rtol=0.08, atol=0)


@pytest.mark.parametrize("task, n_out", [("classification", 4), ("regression", 1)])
def test_with_beta_0_and_sd_near_0_the_gradient_is_the_plain_students(task, n_out):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(32, 10, generator=g)
    y = torch.randint(0, n_out, (32,), generator=g) if task == "classification" else torch.randn(32, 1, generator=g)
    variational = bayes.BayesStudents(10, n_out, task, [3], ["none"], init_sd=1e-12)
    plain = models.Students(10, n_out, task, [3])
    out = variational(x[None], variational.noise([torch.Generator().manual_seed(0)], 32, "cpu"))
    (variational.nll(out, y[None]) + 0.0 * variational.kl()).sum().backward()
    z = plain(x[None])
    loss = torch.nn.functional.cross_entropy(z[0], y) if task == "classification" else 0.5 * ((z[0] - y) ** 2).mean()
    loss.backward()  # regression: the Gaussian NLL at unit noise variance is half the squared error, plus a constant
    for mine, theirs in [("mu_w1", "w1"), ("mu_b1", "b1"), ("mu_w2", "w2"), ("mu_b2", "b2")]:
        torch.testing.assert_close(getattr(variational, mine).grad, getattr(plain, theirs).grad, atol=1e-6, rtol=1e-5)


def sweep_data(task, n_in=12, n=96, n_out=3):
    g = torch.Generator().manual_seed(9)
    x = torch.randn(n, n_in, generator=g)
    y = torch.randint(0, n_out, (n,), generator=g) if task == "classification" else torch.randn(n, 1, generator=g)
    return x, y


@pytest.mark.parametrize("task, n_out", [("classification", 3), ("regression", 1)])
def test_a_run_inside_a_sweep_ends_as_it_would_alone(task, n_out):
    x, y = sweep_data(task, n_out=n_out)
    sizes = [12, 80, 70, 64, 64, n_out]
    (width,) = models.STUDENT_HIDDEN[task]
    priors = {s: prior.chain(*random_posterior(sizes, s), sizes, prior.keep_sets(sizes, width, s)) for s in (0, 1)}
    sweep = bayes.train(
        bayes.BayesStudents(12, n_out, task, [0, 1], ["none", "partial", "full", "init"], priors, init_sd=0.05), x, y,
                        2, 32)
    for seed, arm in [(1, "full"), (0, "none"), (1, "init")]:
        alone = bayes.train(bayes.BayesStudents(12, n_out, task, [seed], [arm], {seed: priors[seed]}, init_sd=0.05), x,
                            y, 2, 32)
        m = [0, 1].index(seed) * 4 + bayes.ARMS.index(arm)
        for k, v in alone.run(0).items():
            torch.testing.assert_close(sweep.run(m)[k], v, atol=1e-6, rtol=1e-5)
        if task == "regression":
            torch.testing.assert_close(sweep.log_noise[m], alone.log_noise[0])
    assert not torch.allclose(sweep.run(1)["mean_w1"], sweep.run(3)["mean_w1"])  # partial and init learn differently


def test_area_between_curves():
    base = [{"epoch": e, "test_loglik": -1.0} for e in (0, 5, 10)]
    better = [{"epoch": e, "test_loglik": -1.0 + 0.1 * e} for e in (0, 5, 10)]
    assert bayes.area_between(better, base) == pytest.approx(5.0)
    assert bayes.area_between(base, base) == 0.0
    with pytest.raises(ValueError, match="evaluated at different epochs"):
        bayes.area_between(better[:2], base)


@pytest.mark.parametrize("task, n_out", [("classification", 3), ("regression", 1)])
def test_train_reports_each_runs_mean_loss_over_the_epochs_rows_once_per_epoch(task, n_out):
    """With both learning rates 0 the weights stay, and sds near 0 make the noise vanish: every mini-batch's loss is
    the NLL of its rows at the posterior mean plus beta * KL / m, so each run's epoch loss is its NLL over all m rows
    plus beta * KL / m, written out here with torch.nn.functional (batches of 40, 40 and 16 rows)."""
    x, y = sweep_data(task, n_out=n_out)
    sizes = [12, 80, 70, 64, 64, n_out]
    (width,) = models.STUDENT_HIDDEN[task]
    priors = {s: prior.chain(*random_posterior(sizes, s), sizes, prior.keep_sets(sizes, width, s)) for s in (0, 1)}
    sweep = bayes.BayesStudents(12, n_out, task, [0, 1], ["none", "partial"], priors, init_sd=1e-6)
    seen = []
    bayes.train(sweep, x, y, 2, 40, lr=0.0, beta=0.5, sd_lr=0.0,
                after_epoch=lambda epoch, loss: seen.append((epoch, loss.clone())))
    assert [epoch for epoch, _ in seen] == [1, 2]
    kl = sweep.kl().detach()
    for m in range(sweep.n_runs):
        run = sweep.run(m)
        out = torch.relu(x @ run["mean_w1"].T + run["mean_b1"]) @ run["mean_w2"].T + run["mean_b2"]
        if task == "classification":
            nll = torch.nn.functional.cross_entropy(out, y)
            assert "log_noise" not in run and sweep.log_noise is None
        else:
            log_noise = run["log_noise"]
            torch.testing.assert_close(log_noise, sweep.log_noise[m].detach())
            nll = 0.5 * (np.log(2 * np.pi) + log_noise + (y - out) ** 2 / log_noise.exp()).mean()
        for _, loss in seen:
            assert loss[m].item() == pytest.approx((nll + 0.5 * kl[m] / len(x)).item(), rel=1e-4), (m, seen)
    assert seen[0][1][0] != pytest.approx(seen[0][1][1].item(), rel=1e-3)  # the runs' losses are their own


def test_sd_summary_is_each_runs_quantiles_of_its_sds_per_layer():
    """numpy's quantiles of each run's sds, layer by layer, under the names metrics.json records."""
    s = bayes.BayesStudents(7, 3, "classification", [0, 5], ["none"])
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for k in bayes.LAYERS:
            getattr(s, f"log_sd_{k}").copy_(torch.randn(getattr(s, f"log_sd_{k}").shape, generator=g))
    summary = s.sd_summary()
    names = {"min": 0.0, "q0.05": 0.05, "q0.25": 0.25, "median": 0.5, "q0.75": 0.75, "q0.95": 0.95, "max": 1.0}
    for m in range(2):
        assert set(summary[m]) == set(bayes.LAYERS)
        for k in bayes.LAYERS:
            sds = np.exp(getattr(s, f"log_sd_{k}")[m].detach().double().numpy().ravel())
            assert summary[m][k].keys() == names.keys()
            for name, q in names.items():
                assert summary[m][k][name] == pytest.approx(np.quantile(sds, q), rel=1e-6), (m, k, name)
    assert summary[0]["w1"]["median"] != pytest.approx(summary[1]["w1"]["median"])


def test_the_students_defaults_unknown_arms_and_missing_priors():
    s = bayes.BayesStudents(6, 3, "classification", [0], ["none"])
    torch.testing.assert_close(s.pv_w1, torch.ones_like(s.pv_w1))  # sigma0 = 1
    torch.testing.assert_close(s.sd("w1"), torch.full_like(s.pv_w1, 1e-3))  # init_sd = 0.001
    assert not any(k.startswith(("inv_pv_", "kl_const_")) for k in s.state_dict())  # derived, not saved
    sizes = [6, 80, 70, 64, 64, 3]
    (width,) = models.STUDENT_HIDDEN["classification"]
    p = prior.chain(*random_posterior(sizes, 0), sizes, prior.keep_sets(sizes, width, 0))
    full = bayes.BayesStudents(6, 3, "classification", [0], ["full"], {0: p})
    torch.testing.assert_close(full.pv_w1[0], bayes._in_out(p[1])["w1"].float())  # kappa = 1
    with pytest.raises(ValueError, match=r"unknown arm\(s\) \['halfway'\]; known: none, partial, full, init"):
        bayes.BayesStudents(6, 3, "classification", [0], ["none", "halfway"])
    with pytest.raises(ValueError, match="arm 'partial' needs the prior of seed 4"):
        bayes.BayesStudents(6, 3, "classification", [4], ["partial"], {0: p})


# --- the step scripts, on a small real teacher --------------------------------------------------------------


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def bike_posteriors(prepared, run_script, tmp_path_factory):
    out = tmp_path_factory.mktemp("bayes-teachers")
    ok(run_script("train_teacher.py", "--data", prepared["bike"], "--seeds", 0, 1, "--out", out / "seed{seed}.pt",
                  "--metrics", out / "seed{seed}.json",
                  "--epochs", 2, "--threads", 1))
    ok(run_script("laplace_teacher.py", "--data", prepared["bike"], "--teachers", out / "seed0.pt", out / "seed1.pt",
                  "--threads", 1))
    return out


@pytest.mark.slow
def test_laplace_teacher_writes_a_byte_reproducible_posterior_beside_each_teacher(bike_posteriors, prepared, run_script,
                                                                                  tmp_path):
    from distill import cli

    first = bike_posteriors / "seed0.posterior.pt"
    assert cli.kind(first) == "posterior"
    record = json.loads((bike_posteriors / "seed0.posterior.json").read_text())
    saved = torch.load(first, weights_only=True)
    assert (record["step"] == "laplace" and record["seed"] == 0 == saved["seed"] and record["noise_var"] > 0
            and record["laplace_seconds"] > 0)
    assert saved["teacher"]["sha256"] == record["teacher"]["sha256"] and saved["mean"]["0.weight"].shape == (256, 58)
    assert (saved["var"]["0.weight"] > 0).all() and (saved["var"]["0.weight"] <= 1).all()
    ok(run_script("laplace_teacher.py", "--data", prepared["bike"], "--teachers", bike_posteriors / "seed0.pt", "--out",
                  tmp_path / "again{seed}.pt", "--threads", 1))
    assert (tmp_path / "again0.pt").read_bytes() == first.read_bytes()
    r = run_script("laplace_teacher.py", "--data", prepared["mnist"], "--teachers", bike_posteriors / "seed0.pt")
    assert r.returncode != 0 and r.stderr.startswith("error: ") and "was not trained on" in r.stderr


def check_bike_run_by_hand(record, posterior, data_path, n):
    """A bike run's recorded test MSE (bikes^2), test log-likelihood and posterior sds against numpy and scipy: the
    saved posterior means applied to the test inputs standardized by the first n small-part rows, the output taken
    back to bikes, the Gaussian likelihood with the noise variance exp(log_noise) * sd(y)^2 in bikes^2."""
    from scipy import stats

    with np.load(data_path) as d:
        x, y, x_test, y_test = (d[k].astype(np.float64) for k in ("x_small", "y_small", "x_test", "y_test"))
    x, y = x[:n], y[:n]
    sx = np.where(x.std(0, ddof=1) > 0, x.std(0, ddof=1), 1.0)
    z = (x_test - x.mean(0)) / sx
    p = {k: v.double().numpy() for k, v in posterior.items()}
    out = np.maximum(z @ p["mean_w1"].T + p["mean_b1"], 0) @ p["mean_w2"].T + p["mean_b2"]
    pred = out[:, 0] * y.std(ddof=1) + y.mean()
    noise = np.exp(p["log_noise"]) * y.std(ddof=1) ** 2
    assert record["test_metric"] == pytest.approx(((pred - y_test) ** 2).mean(), rel=1e-4)
    assert record["test_loglik"] == pytest.approx(stats.norm.logpdf(y_test, pred, np.sqrt(noise)).mean(), rel=1e-4)
    for layer, q in record["posterior_sd"].items():
        assert q["median"] == pytest.approx(float(np.median(p[f"sd_{layer}"])), rel=1e-5)
        assert q["min"] == pytest.approx(float(p[f"sd_{layer}"].min()), rel=1e-6)


@pytest.mark.slow
def test_train_bayes_student_sweep_writes_every_run_and_a_run_alone_matches(bike_posteriors, prepared, run_script,
                                                                            tmp_path):
    posteriors = [bike_posteriors / "seed0.posterior.pt", bike_posteriors / "seed1.posterior.pt"]
    common = ["--data", prepared["bike"], "--epochs", 3, "--threads", 1, "--small-size", 200]
    ok(run_script("train_bayes_student.py", *common, "--posteriors", *posteriors, "--arms", *bayes.ARMS, "--seeds",
                  0, 1, "--metrics", tmp_path / "{arm}/seed{seed}/metrics.json", "--weights",
                  tmp_path / "{arm}/seed{seed}/posterior.pt"))
    ok(run_script("train_bayes_student.py", *common, "--posteriors", posteriors[1], "--arms", "full", "--seeds", 1,
                  "--metrics", tmp_path / "alone.json"))
    runs = {(arm, s): json.loads((tmp_path / arm / f"seed{s}" / "metrics.json").read_text())
            for arm in bayes.ARMS for s in (0, 1)}
    for (arm, s), r in runs.items():
        assert r["arm"] == arm and r["beta"] == 1.0 and r["kl"] > 0 and r["sweep_runs"] == 8 and r["size"] == 200
        assert ([e["epoch"] for e in r["epochs"]] == [0, 1, 2, 3]
                and {"mse", "test_loss", "test_loglik", "train_loss"} <= set(r["epochs"][1]))
        assert (r["test_metric"] == r["epochs"][-1]["mse"] and np.isfinite(r["test_loglik"])
                and r["n_weights"] == 58 * 32 + 32)
        assert (r["prior_units"] is None) == (arm == "none")
        check_bike_run_by_hand(r, torch.load(tmp_path / arm / f"seed{s}" / "posterior.pt", weights_only=True),
                               prepared["bike"], 200)
    assert runs[("partial", 1)]["prior_metric"] == runs[("partial", 1)]["epochs"][0]["mse"] == runs[("init", 1)][
        "prior_metrics"]["identity"] != runs[("init", 1)]["prior_metrics"]["product"]
    alone = json.loads((tmp_path / "alone.json").read_text())
    for a, b in zip(alone["epochs"], runs[("full", 1)]["epochs"]):
        assert (a["test_loglik"] == pytest.approx(b["test_loglik"], rel=1e-4)
                and a["mse"] == pytest.approx(b["mse"], rel=1e-4))
    assert (runs[("partial", 0)]["epochs"][0]["mse"] == runs[("full", 0)]["epochs"][0]["mse"]
            != runs[("none", 0)]["epochs"][0]["mse"])
    assert bayes.area_between(runs[("full", 0)]["epochs"], runs[("none", 0)]["epochs"]) != 0
    # refusals: a posterior of another seed, no posterior for a distilled arm
    r = run_script("train_bayes_student.py", *common, "--posteriors", posteriors[1], "--arms", "full", "--seeds", 0,
                   "--metrics", tmp_path / "x.json")
    assert r.returncode != 0 and "teacher seed 1, not 0" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_script("train_bayes_student.py", *common, "--arms", "partial", "--metrics", tmp_path / "x.json")
    assert r.returncode != 0 and "--posteriors is required" in r.stderr
    r = run_script("train_bayes_student.py", "--data", prepared["mnist"], "--posteriors", posteriors[0], "--arms",
                   "full", "--metrics", tmp_path / "x.json")
    assert r.returncode != 0 and "one input space" in r.stderr


def test_the_variational_posterior_reaches_the_closed_form_of_a_linear_gaussian_model():
    """With the first layer fixed (its sds ~0) and a known noise variance, the student's output layer is Bayesian
    linear regression on the features h = relu(x W1 + b1): mean-field VI has its optimum at the exact posterior mean,
    with variances 1 / diag(Lambda), Lambda = Phi^T Phi / noise + I / sigma0^2 (Phi = [h, 1]). Trained through
    bayes.train with its default learning rates and a step budget of the study's order (100 epochs of 16 batches
    = 1600 steps, here 3000 full-batch steps), the means and sds must reach it. A dead feature (always 0) has the
    prior as its posterior: sd sigma0, far above init_sd."""
    m, width, noise, sigma0 = 300, models.STUDENT_HIDDEN["regression"][0], 0.5, 1.5
    g = torch.Generator().manual_seed(11)
    x = torch.randn(m, width, generator=g, dtype=torch.float64).float()
    w1, b1 = torch.eye(width), torch.zeros(width)
    w1[:, 0], b1[0] = 0.0, -1.0  # feature 0 is dead: relu(-1) = 0 on every row
    h = (x @ w1 + b1).relu()
    y = h @ (0.3 * torch.randn(width, 1, generator=g)) + 0.2 + noise**0.5 * torch.randn(m, 1, generator=g)
    s = bayes.BayesStudents(width, 1, "regression", [3], ["none"], sigma0=sigma0, init_sd=1e-3)
    with torch.no_grad():
        s.mu_w1[0], s.mu_b1[0, 0] = w1, b1
        s.log_sd_w1.fill_(-40.0), s.log_sd_b1.fill_(-40.0)
        s.log_noise.fill_(np.log(noise))
    for name in ("mu_w1", "mu_b1", "log_sd_w1", "log_sd_b1", "log_noise"):
        getattr(s, name).requires_grad_(False)
    bayes.train(s, x, y, epochs=3000, batch_size=m)

    phi = torch.cat([h, torch.ones(m, 1)], 1).double()
    precision = phi.T @ phi / noise + torch.eye(width + 1, dtype=torch.float64) / sigma0**2
    exact_mean = torch.linalg.solve(precision, phi.T @ y.double() / noise).squeeze(1)
    exact_sd = precision.diagonal().rsqrt()
    run = s.run(0)
    mean = torch.cat([run["mean_w2"].reshape(-1), run["mean_b2"]]).double()
    sd = torch.cat([run["sd_w2"].reshape(-1), run["sd_b2"]]).double()
    assert exact_sd[0] == pytest.approx(sigma0) and sd[0] == pytest.approx(sigma0, rel=0.12)
    assert ((mean - exact_mean) / exact_sd).abs().max() < 0.25, "the means are not at the exact posterior mean"
    torch.testing.assert_close(sd, exact_sd, rtol=0.12, atol=0)


@pytest.mark.parametrize("task, n_out", [("regression", 1), ("classification", 3)])
def test_the_training_loss_is_the_negative_elbo_per_row_written_out_by_hand(task, n_out):
    """One full batch of a tiny network: the loss bayes.train reports for the first epoch is, by hand with scipy and
    torch.distributions, the mean over the rows of -log p(y | sampled outputs) (Gaussian with the run's noise
    variance, or the categorical) plus beta * KL(q || prior) / m summed weight by weight; the outputs sampled with
    the run's own draws (its batch order and noise streams) through the layer's pre-activation law."""
    from scipy import stats

    from distill.seeds import generator

    m, n_in, seed, beta, sigma0 = 7, 3, 3, 0.6, 0.7
    g = torch.Generator().manual_seed(4)
    x = torch.randn(m, n_in, generator=g)
    y = torch.randn(m, 1, generator=g) if task == "regression" else torch.randint(0, n_out, (m,), generator=g)
    model = bayes.BayesStudents(n_in, n_out, task, [seed], ["none"], sigma0=sigma0, init_sd=0.2)
    with torch.no_grad():
        for k in bayes.LAYERS:  # sds that differ weight by weight
            getattr(model, f"log_sd_{k}").uniform_(-2.5, -0.5, generator=g)
        if task == "regression":
            model.log_noise.fill_(0.4)
    p = {name: t.detach().double().numpy()[0] for name, t in model.named_parameters()}
    seen = []
    bayes.train(model, x, y, 1, m, beta=beta, after_epoch=lambda epoch, loss: seen.append(float(loss[0])))

    order = torch.randperm(m, generator=generator("student_batches", seed)).numpy()
    draws = generator("bayes_noise", seed)
    eps1, eps2 = torch.randn(m, model.hidden, generator=draws).double().numpy(), torch.randn(
        m, n_out, generator=draws).double().numpy()
    a, target = x.double().numpy()[order], y.numpy()[order]
    sd = {k: np.exp(p[f"log_sd_{k}"]) for k in bayes.LAYERS}

    def layer(a, w, b, eps):
        mean = a @ p[f"mu_{w}"] + p[f"mu_{b}"]
        return mean + np.sqrt((a**2) @ sd[w] ** 2 + sd[b] ** 2) * eps

    out = layer(np.maximum(layer(a, "w1", "b1", eps1), 0), "w2", "b2", eps2)
    if task == "regression":
        nll = -stats.norm.logpdf(target[:, 0], out[:, 0], np.exp(0.2)).mean()  # variance exp(0.4)
    else:
        nll = -(out[np.arange(m), target] - np.log(np.exp(out).sum(1))).mean()
    q, prior_ = torch.distributions.Normal, torch.distributions.Normal
    kl = sum(float(torch.distributions.kl_divergence(q(torch.tensor(p[f"mu_{k}"]), torch.tensor(sd[k])),
                                                     prior_(0.0, sigma0)).sum()) for k in bayes.LAYERS)
    assert seen[0] == pytest.approx(nll + beta * kl / m, rel=1e-5)


def test_an_unknown_selection_or_reduction_is_refused_naming_the_known_ones():
    sizes, width = [6, 80, 70, 64, 3], 64
    mean, var = random_posterior(sizes)
    with pytest.raises(ValueError, match=r"^unknown selection 'largest'; known: random, snr$"):
        prior.keep_sets(sizes, width, 0, "largest", mean, var)
    keep = prior.keep_sets(sizes, width, 0)
    with pytest.raises(ValueError, match=r"^unknown reduction 'sum'; known: identity, product$"):
        prior.chain(mean, var, sizes, keep, "sum")

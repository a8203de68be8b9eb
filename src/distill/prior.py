"""The student's prior from the teacher's posterior: the teacher's structure reduced to the student's.

Teacher [n_in, h_1, ..., h_L, n_out] (h = 256, 128, 64, 64), student [n_in, width, n_out] (width 64 for
images, 32 for bike). Layers in PyTorch's layout: W_0 [h_1, n_in] (input -> hidden 1), W_i [h_{i+1}, h_i],
W_L [n_out, h_L]; b_i beside each. The chain walks the hidden layers from the last to the first:

- hidden layer l wider than ``width``: keep ``width`` of its units, S_l (sorted), and delete the others
  (Theorem 1): condition the next layer's columns of the deleted units on 0, marginalise their rows and biases;
- then the layer from hidden l to hidden l + 1 is square (width x width): fix it to the identity with a zero
  bias (Theorem 2; ReLU is idempotent and its inputs are ReLU outputs, so that layer passes them through).

How the kept indices compose. After the chain, W_l[S_{l+1}[k], S_l[k']] = [k == k'], so unit S_{l+1}[k] of
hidden l + 1 equals unit S_l[k] of hidden l, and by induction unit S_L[k] of the last hidden layer is unit
S_1[k] of the first. The student's hidden unit k is therefore the teacher's first-layer unit S_1[k]:

    student W1 = W_0[S_1, :], b1 = b_0[S_1];   student W2 = W_L[:, S_L], b2 = b_L
    (column k of W2 is the teacher's output column S_L[k], paired with S_1[k]).

A layer no wider than ``width`` keeps all its units (S_l = 0..width-1): images have h_3 = h_4 = 64, so
S_L = all and W2 = W_L as it is; bike also keeps 32 of the 64 units of hidden 3 and 4. The middle sets
S_2.. S_L other than S_L do not enter the result under a diagonal posterior (they decide only which entries
are conditioned), but they are drawn and recorded, and they matter for a dense one (plan()).

The sets are drawn on the ("prior", seed) stream, or ranked by signal-to-noise (mean |mean| / sd of a unit's
incoming weights) with ``select="snr"``.
"""

from __future__ import annotations

import torch

from distill import gaussian
from distill.seeds import generator

SELECT = ("random", "snr")
# How the student's output layer is made from the teacher's last layers: identity ([2]: the square middle layers
# fixed to the identity, the output layer the teacher's last as it is) or product (the kept first-layer units' path
# through the teacher's middle layers, their ReLUs taken as the identity: W2 = W_L ... W_1[:, S_1]).
REDUCE = ("identity", "product")


def names(n_layers: int) -> list[tuple[str, str]]:
    """(weight, bias) names of layer i in a models.teacher state dict: ('0.weight', '0.bias'), ('2.weight', ...)."""
    return [(f"{2 * i}.weight", f"{2 * i}.bias") for i in range(n_layers)]


def keep_sets(sizes: list[int], width: int, seed: int, select: str = "random", mean=None,
              var=None) -> list[torch.Tensor]:
    """S_1 .. S_L: the kept units of each hidden layer (sorted), drawn from the last hidden layer to the first.

    select="snr" keeps the units whose incoming weights have the largest mean |mean| / sd (needs mean, var)."""
    if select not in SELECT:
        raise ValueError(f"unknown selection {select!r}; known: {', '.join(SELECT)}")
    hidden = sizes[1:-1]
    if min(hidden) < width:
        raise ValueError(f"the teacher {sizes} has a hidden layer narrower than the student's {width} units")
    g = generator("prior", seed)
    sets: list[torch.Tensor] = [None] * len(hidden)
    for h in reversed(range(len(hidden))):
        n = hidden[h]
        if n == width:
            chosen = torch.arange(n)
        elif select == "random":
            chosen = torch.randperm(n, generator=g)[:width]
        else:
            w, b = names(len(sizes) - 1)[h]
            snr = torch.cat([mean[w], mean[b][:, None]], 1).abs() / torch.cat([var[w], var[b][:, None]], 1).sqrt()
            chosen = snr.mean(1).topk(width).indices
        sets[h] = chosen.sort().values
    return sets


def chain(mean: dict, var: dict, sizes: list[int], keep: list[torch.Tensor],
          reduce: str = "identity") -> tuple[dict, dict]:
    """The student's prior (mean, var), each {w1 [width, n_in], b1, w2 [n_out, width], b2}, from the teacher's
    diagonal posterior (models.teacher state-dict names). identity: the exact selection [2]'s chain amounts to.
    product: the same first layer, and the output layer of product_layer()."""
    if reduce not in REDUCE:
        raise ValueError(f"unknown reduction {reduce!r}; known: {', '.join(REDUCE)}")
    (w_first, b_first), (w_last, b_last) = names(len(sizes) - 1)[0], names(len(sizes) - 1)[-1]
    s1, s_last = keep[0], keep[-1]

    def select(p):
        return {"w1": p[w_first][s1].clone(), "b1": p[b_first][s1].clone(), "w2": p[w_last][:, s_last].clone(),
                "b2": p[b_last].clone()}

    m, v = select(mean), select(var)
    if reduce == "product":
        (m["w2"], m["b2"]), (v["w2"], v["b2"]) = product_layer(mean, var, len(sizes) - 1, s1)
    return m, v


def product_layer(mean: dict, var: dict, n_layers: int, s1: torch.Tensor):
    """The output layer that carries the kept first-layer units S_1 through the teacher's middle layers, each
    ReLU taken as the identity (exact where every middle unit is active). With layers 0..L (W_0 the first),
    u_1 = 0 and u_{j+1} = W_j u_j + b_j (the biases' part of each layer's input):

        W = W_L ... W_1 E   (E [h_1, width] picks the units S_1),      b = u_{L+1}.

    Variances to first order in the weights' independent variances (the delta method), the factors on either side
    of a layer entering squared: Var W = sum_j (A_j^2) Var(W_j) (B_j^2), Var b = sum_j (A_j^2) (Var(b_j) + Var(W_j)
    u_j^2), with A_j = W_L ... W_{j+1} (the identity for j = L) and B_j = W_{j-1} ... W_1 E. The covariance of W
    and b (shared weights) is dropped: the prior stays diagonal. Returns ((W mean, b mean), (W var, b var))."""
    layers = names(n_layers)
    w, vw = [mean[k].double() for k, _ in layers], [var[k].double() for k, _ in layers]
    b, vb = [mean[k].double() for _, k in layers], [var[k].double() for _, k in layers]
    L = n_layers - 1
    right = [None, torch.eye(w[0].shape[0], dtype=torch.float64)[:, s1]]  # right[j] = B_j, j = 1..L
    u = [None, torch.zeros(w[0].shape[0], dtype=torch.float64)]  # u[j], j = 1..L + 1
    for j in range(1, L + 1):
        right.append(w[j] @ right[j])
        u.append(w[j] @ u[j] + b[j])
    left = [None] * (L + 1)  # left[j] = A_j
    left[L] = torch.eye(w[L].shape[0], dtype=torch.float64)
    for j in range(L - 1, 0, -1):
        left[j] = left[j + 1] @ w[j + 1]
    var_w = sum((left[j] ** 2) @ vw[j] @ (right[j] ** 2) for j in range(1, L + 1))
    var_b = sum((left[j] ** 2) @ (vb[j] + vw[j] @ u[j] ** 2) for j in range(1, L + 1))
    return (right[L + 1].float(), u[L + 1].float()), (var_w.float(), var_b.float())


# The same chain on the flat vector of every teacher parameter, step by step as the theorems state it.


def offsets(sizes: list[int]) -> list[tuple[int, int]]:
    """Flat offset of (W_i, b_i) per layer; W_i [out, in] row-major, then b_i."""
    out, at = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        out.append((at, at + n_in * n_out))
        at += n_in * n_out + n_out
    return out


def flatten(state: dict, sizes: list[int]) -> torch.Tensor:
    return torch.cat([torch.cat([state[w].reshape(-1), state[b]]) for w, b in names(len(sizes) - 1)])


def plan(sizes: list[int], keep: list[torch.Tensor]):
    """The chain as steps on the flat teacher vector: [("condition", indices, values) or ("marginalise", indices)],
    and the flat indices of the student's w1, b1, w2, b2 (row-major, (out, in)) in order."""
    off, L, steps = offsets(sizes), len(sizes) - 2, []

    def w(i, rows, cols):  # flat indices of W_i[rows][:, cols]
        return (off[i][0] + rows[:, None] * sizes[i] + cols[None, :]).reshape(-1)

    def b(i, rows):
        return off[i][1] + rows

    alive_rows = [torch.arange(n) for n in sizes[1:]]  # the rows of W_i still in the vector
    for h in reversed(range(L)):  # hidden layer h + 1 in the docstring's numbering: W_l feeds it, W_{h+1} reads it
        gone = torch.tensor([j for j in range(sizes[h + 1]) if j not in set(keep[h].tolist())], dtype=torch.long)
        if len(gone):
            nxt = w(h + 1, alive_rows[h + 1], gone)
            steps.append(("condition", nxt, torch.zeros(len(nxt))))
            steps.append(("marginalise", torch.cat([w(h, gone, torch.arange(sizes[h])), b(h, gone)])))
            alive_rows[h] = keep[h]
        if h < L - 1:  # W_{h+1} is now width x width: the identity, bias 0
            square = w(h + 1, keep[h + 1], keep[h])
            steps.append(("condition", torch.cat([square, b(h + 1, keep[h + 1])]),
                          torch.cat([torch.eye(len(keep[h])).reshape(-1), torch.zeros(len(keep[h + 1]))])))
    student = torch.cat([w(0, keep[0], torch.arange(sizes[0])), b(0, keep[0]), w(L, torch.arange(sizes[-1]), keep[-1]),
                         b(L, torch.arange(sizes[-1]))])
    return steps, student


def chain_dense(mean: torch.Tensor, cov: torch.Tensor, sizes: list[int], keep: list[torch.Tensor]):
    """The chain on a dense Gaussian over the flat teacher vector: each step conditions or marginalises
    (distill.gaussian); returns the student's (mean, cov) in plan()'s order."""
    steps, student = plan(sizes, keep)
    alive = torch.arange(len(mean))  # original flat index of each entry of the current vector
    for step in steps:
        position = {int(i): p for p, i in enumerate(alive)}
        where = torch.tensor([position[int(i)] for i in step[1]], dtype=torch.long)
        if step[0] == "condition":
            mean, cov, rest = gaussian.condition(mean, cov, where, step[2].to(mean.dtype))
        else:
            rest = torch.tensor([p for p in range(len(alive)) if p not in set(where.tolist())], dtype=torch.long)
            mean, cov = gaussian.marginalise(mean, cov, rest)
        alive = alive[rest]
    position = {int(i): p for p, i in enumerate(alive)}
    at = torch.tensor([position[int(i)] for i in student], dtype=torch.long)
    return gaussian.marginalise(mean, cov, at)


def rescale(mean: dict, var: dict, teacher_x, student_x, teacher_y=None, student_y=None) -> tuple[dict, dict]:
    """A student prior from the teacher's standardized units into the student's (bike; images are unscaled).

    The teacher reads z_t = (x - m_t) / s_t and answers in (y - mu_t) / sd_t; the student reads z_s = (x - m_s) / s_s.
    The same function in the student's units: W1' = W1 diag(s_s / s_t), b1' = b1 + W1 (m_s - m_t) / s_t,
    W2' = W2 sd_t / sd_s, b2' = (b2 sd_t + mu_t - mu_s) / sd_s. Means map exactly; variances map as for independent
    weights (var b1' = var b1 + var W1 ((m_s - m_t) / s_t)^2; the correlation this creates between b1' and W1'
    is dropped, the prior stays diagonal). Scales: distill.training.Scaler (mean, std)."""
    ratio, shift = student_x.std / teacher_x.std, (student_x.mean - teacher_x.mean) / teacher_x.std
    m, v = dict(mean), dict(var)
    m["w1"], v["w1"] = mean["w1"] * ratio, var["w1"] * ratio**2
    m["b1"], v["b1"] = mean["b1"] + mean["w1"] @ shift, var["b1"] + var["w1"] @ shift**2
    if teacher_y is not None:
        out = teacher_y.std / student_y.std
        m["w2"], v["w2"] = mean["w2"] * out, var["w2"] * out**2
        m["b2"], v["b2"] = ((mean["b2"] * teacher_y.std + teacher_y.mean - student_y.mean) / student_y.std,
                            var["b2"] * out**2)
    return m, v

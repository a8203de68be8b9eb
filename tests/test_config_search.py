"""Configs searched rather than listed (hypothesis): any value, at any numeric key of the tiny study, is
either accepted with a meaning (finite numbers, integers where the schema says integer, lams and T that read
back from their paths as themselves) or refused with a ConfigError naming that key and what it allows.
In-process, through the same distill.config.check the workflow runs at start. The examples hypothesis found
are kept as @example cases (and in tests/test_config.py's table)."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from test_config import TINY, as_the_workflow_sees_it

BASE = as_the_workflow_sees_it(yaml.safe_load(TINY.read_text()))


def numeric_keys() -> list[tuple]:
    from distill.config import numbers

    keys = {path for path, _ in numbers(BASE)}
    keys |= {path[:-1] for path in keys if isinstance(path[-1], int)}  # the lists themselves: lams, seeds, ...
    return sorted(keys | {("small_sizes", "mnist")}, key=str)


KEYS = numeric_keys()
EDGES = [float("nan"), float("inf"), float("-inf"), 0, 0.0, -0.0, -1, -1e-9, 1e-9, 1e-7, 5e-7, 0.1234567, 1e300,
         10**400, -(10**400), 2**63]
scalars = st.one_of(
    st.sampled_from(EDGES),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
    st.sampled_from([".nan", "-.inf", "1e-9", "1e400", "nan", "inf", "0x10", "1_000", "5.0", "true", ""]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.just([]),
                   st.dictionaries(st.text(max_size=3), scalars, max_size=2))


def put(config: dict, key: tuple, value) -> dict:
    import copy

    config = copy.deepcopy(config)
    node = config
    for part in key[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    if isinstance(key[-1], int) and key[-1] >= len(node):
        node.append(value)
    else:
        node[key[-1]] = value
    return config


def dotted(key: tuple) -> str:
    from distill.config import _key

    return _key(key)


def meaningful(config: dict) -> None:
    """What an accepted config must mean: every number finite, every lam and T written exactly in paths."""
    from distill.config import numbers
    from distill.io import fmt

    for path, value in numbers(config):
        assert isinstance(value, int) or math.isfinite(value), f"{dotted(path)} = {value!r} accepted"
    for key in ("lams", "temperatures"):
        for value in config[key]:
            assert float(fmt(value)) == value, f"{key}: {value!r} is written {fmt(value)}"
    for key in ("seeds",):
        assert all(type(v) is int for v in config[key]), config[key]


@pytest.mark.parametrize("key", KEYS, ids=dotted)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=values)
@example(value=float("nan"))
@example(value=float("inf"))
@example(value=1e-9)  # a T printing as T0
@example(value=0.1234567)  # a lam printing as 0.123457
@example(value=10**400)  # an int too large for a float: fmt overflowed
@example(value=0.0)  # an integer key given a float: 'seed0.0' in a path
@example(value=".nan")  # text the YAML reader turns into NaN
@example(value=[])
@example(value={"\x1e": float("nan")})  # a key with a control character broke the message into two lines
def test_any_value_at_any_numeric_key_is_meant_or_named(key, value):
    from distill.config import ConfigError, check, coerce

    config = coerce(put(BASE, key, value))
    try:
        check(config)
    except ConfigError as e:
        message = str(e)
        named = [line for line in message.splitlines() if line.startswith("config key")]
        assert named and all("; allowed: " in line for line in named), message
        # the key changed, or the list or mapping holding it, or an entry of what was put there
        prefixes = {dotted(key[:n]) for n in range(1, len(key) + 1)}
        assert any(line.split(":")[0].split(" ",
                                            2)[2].startswith(tuple(prefixes)) for line in named), (dotted(key), message)
    else:
        meaningful(config)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(min_value=0, max_value=1) | st.floats(min_value=1e-12, max_value=1e-5))
@example(value=5e-7)  # rounds up to 0.000001: written, but as another number
@example(value=0.0000005)
def test_a_lam_is_written_exactly_or_refused_with_the_nearest(value):
    """No lam becomes a path that reads back as another number; a refusal names one that can be written."""
    from distill.config import ConfigError, check
    from distill.io import fmt

    config = put(BASE, ("lams",), [value])
    try:
        check(config)
    except ConfigError as e:
        assert "config key lams[0]" in str(e) and "e.g." in str(e), str(e)
        nearest = str(e).split("e.g. ")[1].split(" ")[0]
        assert float(fmt(float(nearest))) == float(nearest)
    else:
        assert float(fmt(value)) == value

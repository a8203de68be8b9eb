"""The step scripts' arguments, searched rather than listed (hypothesis): each argparse type of distill.cli
gives a value of its promise or refuses in one line; a file's kind comes from its own record, so random
bytes, a missing file or a file of another kind are named; an output path that cannot be written is refused
before any work. In-process, but for a few real scripts run with bad arguments (marked slow)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from distill import cli
from distill.io import fmt

QUICK = settings(max_examples=40, deadline=None)

# type -> what every value it returns must satisfy
PROMISES = {
    cli.positive_int: lambda v: type(v) is int and v >= 1,
    cli.seed: lambda v: type(v) is int and v >= 0,
    cli.threads: lambda v: type(v) is int and 0 <= v <= 4096,
    cli.odd_size: lambda v: type(v) is int and v >= 1 and v % 2,
    cli.positive: lambda v: math.isfinite(v) and v > 0,
    cli.nonnegative: lambda v: math.isfinite(v) and v >= 0,
    cli.level: lambda v: 0 < v < 1,
    cli.unit: lambda v: 0 <= v <= 1,
    cli.lam: lambda v: 0 <= v <= 1 and float(fmt(v)) == v,
    cli.temperature: lambda v: math.isfinite(v) and v > 0 and float(fmt(v)) == v and len(fmt(v)) <= 20,
}
EDGES = ["nan", "NaN", "inf", "-inf", "infinity", "0", "-0", "0.0", "-1", "1", "2", "4", "1e-9", "5e-7", "0.1234567",
         "1e300", "1e400",
         "-1e-300", "4097", str(2**64), "1.5", "", " ", "x", "0x10", "1_000", "½", "3.0"]
texts = st.one_of(
    st.sampled_from(EDGES),
    st.floats().map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=6),
)


@pytest.mark.parametrize("convert", PROMISES, ids=lambda c: next(k for k, v in vars(cli).items() if v is c))
@QUICK
@given(text=texts)
@example(text="nan")  # passed float() and every range check before: NaN compares false
@example(text="1e-9")  # a T that a path writes as T0
@example(text="0.1234567")  # a lam that a path writes as 0.123457
@example(text="1e300")  # a T of 301 digits: too long for a file name
@example(text="-1")  # a negative seed: a traceback from numpy's SeedSequence
@example(text="0")  # --epochs 0 trained nothing and wrote an untrained teacher
def test_every_type_keeps_its_promise_or_refuses(convert, text):
    try:
        value = convert(text)
    except argparse.ArgumentTypeError as e:
        message = str(e)
        assert "\n" not in message and f"got {text!r}; allowed: {convert.allowed}" == message
    else:
        assert PROMISES[convert](value), (text, value)


# type -> values it must accept as they are: what the rules, config.yaml and workflow/configs/*.yaml pass
ACCEPTED = {
    cli.positive_int: {"1": 1, "5": 5, "64": 64, "100": 100, "128": 128},
    cli.seed: {"0": 0, "3": 3, "19": 19},
    cli.threads: {"0": 0, "1": 1, "2": 2},
    cli.odd_size: {"3": 3, "5": 5},
    cli.positive: {"0.001": 0.001, "1e-05": 1e-05, "0.3": 0.3, "1.5": 1.5},
    cli.nonnegative: {"0": 0.0, "0.3": 0.3, "0.5": 0.5},
    cli.level: {"0.05": 0.05, "0.8": 0.8},
    cli.unit: {"0": 0.0, "0.5": 0.5, "1": 1.0},
    cli.lam: {"0": 0.0, "0.25": 0.25, "0.5": 0.5, "0.75": 0.75, "0.9": 0.9, "1": 1.0, "1.0": 1.0},
    cli.temperature: {"1": 1.0, "1.0": 1.0, "2": 2.0, "4": 4.0, "0.5": 0.5, "1e19": 1e19},
}


@pytest.mark.parametrize("convert", ACCEPTED, ids=lambda c: next(k for k, v in vars(cli).items() if v is c))
def test_every_type_accepts_what_the_study_passes(convert):
    """A type that refused good values would keep its promise too: these are the values the workflow's rules
    build from the shipped configs, and each must come back as the number it names."""
    for text, value in ACCEPTED[convert].items():
        got = convert(text)
        assert got == value and type(got) is type(value), (text, got)


def parser():
    p = cli.Parser("a step")
    p.add_argument("--lr", type=cli.positive, default=1e-3)
    p.add_argument("--epochs", type=cli.positive_int, default=1)
    p.add_argument("--lams", type=cli.lam, nargs="+", required=True)
    return p


@QUICK
@given(lr=texts, lams=st.lists(texts, min_size=1, max_size=3))
@example(lr="nan", lams=["0.5"])
@example(lr="0", lams=["0.5", "nan"])
@example(lr="-1e+16", lams=["nan"])  # argparse took -1e+16 for an option: "expected one argument", no allowed
@example(lr="-inf", lams=["-1"])
def test_a_bad_command_line_is_one_line_naming_the_argument(lr, lams):
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = parser().parse_args(["--lr", lr, "--lams", *lams])
    except SystemExit as e:
        err = stderr.getvalue().strip().splitlines()
        assert e.code == 2 and len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
        # a value refused by its type says what is allowed; text that looks like an option ('-x') is named as such
        assert "allowed: " in err[0] if ": got " in err[0] else "argument" in err[0], err
    else:
        assert math.isfinite(args.lr) and args.lr > 0 and all(0 <= v <= 1 for v in args.lams)


def make_files(folder: Path) -> dict[str, Path]:
    """One small file of every kind the steps write, through the writers the steps use."""
    from distill import data
    from distill.io import save_torch

    folder.mkdir(exist_ok=True)
    parts = {f"{xy}_{p}": np.zeros((4, 3) if xy == "x" else 4,
                                   np.float32) for p in ("big", "small", "test") for xy in "xy"}
    info = {"dataset": "bike", "task": "regression", "sizes": {"big": 4, "small": 4, "test": 4}, "input_shape": [3],
            "n_classes": None}
    files = {k: folder / name for k, name in
             [("data", "bike.npz"), ("domain", "bike+noise.npz"), ("teacher", "t.pt"), ("mapping", "v.pt"),
              ("answers", "a.npz"),
              ("posterior", "p.pt")]}
    data.save(files["data"], parts, info)
    data.save(files["domain"], {k: v for k, v in parts.items() if "small" not in k},
              {**info, "domain": {"psi": "noise"}})
    save_torch(files["teacher"], {"state": {}, "task": "regression", "n_in": 3, "n_out": 1, "seed": 0, "made_from": {}})
    save_torch(files["mapping"], {"state": {}, "meta": {"n_in": 3}})
    save_torch(files["posterior"], {"kind": "posterior", "mean": {}, "var": {}, "task": "regression", "seed": 0})
    np.savez(files["answers"], provenance=np.array(json.dumps({"target_data": "x"})), small_seed0=np.zeros(4))
    return files


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return make_files(tmp_path_factory.mktemp("kinds"))


def test_each_kind_is_read_from_its_own_record(files):
    assert {k: cli.kind(p) for k, p in files.items()} == {k: k for k in files}


@settings(max_examples=30, deadline=None)
@given(blob=st.binary(max_size=300), cut=st.integers(min_value=0, max_value=2000))
@example(blob=b"PK\x03\x04", cut=0)  # the start of a zip archive, then nothing
@example(blob=b"", cut=0)
def test_random_bytes_or_a_cut_file_are_no_kind(files, tmp_path_factory, blob, cut):
    folder = tmp_path_factory.mktemp("bytes", numbered=True)
    for name, content in (("random.npz", blob), ("cut.pt", files["teacher"].read_bytes()[:cut]),
                          ("cut.npz", files["answers"].read_bytes()[:cut])):
        path = folder / name
        path.write_bytes(content)
        found = cli.kind(path)
        assert found not in cli.KINDS or (cut >= path.stat().st_size and name.startswith("cut")), (name, found)


@pytest.mark.parametrize("wanted", list(cli.KINDS))
def test_a_file_of_another_kind_is_one_line_naming_both(files, wanted, capsys, tmp_path):
    for given_kind, path in [*files.items(), ("missing", tmp_path / "absent.npz"), ("folder", tmp_path)]:
        if given_kind == wanted:
            cli.expect("x", path, wanted)
            continue
        with pytest.raises(SystemExit) as e:
            cli.expect("x", path, wanted)
        err = capsys.readouterr().err.strip().splitlines()
        assert e.value.code == 1 and len(err) == 1 and err[0].startswith(f"error: --x {path} "), err
        assert err[0].endswith(f"; allowed: {cli.KINDS[wanted]}")
        assert cli.KINDS.get(given_kind, "") in err[0]


def test_unwritable_outputs_are_refused_before_any_work(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("")
    # folders are made later, as needed
    cli.writable("out", tmp_path / "new" / "deeper" / "m.json", tmp_path / "m.json")
    cli.writable("out-dir", tmp_path / "tables", tmp_path, folder=True)
    for option, path, folder in [("metrics", a_file / "m.json", False), ("metrics", tmp_path, False),
                                 ("out-dir", a_file, True),
                                 ("out-dir", a_file / "tables", True)]:
        with pytest.raises(SystemExit):
            cli.writable(option, path, folder=folder)
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: --{option} {path} ") and "allowed: " in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing made


# A few real scripts with bad arguments or files of the wrong kind: one line, no traceback, nothing written.
BAD_RUNS = {
    "teacher-metrics-unwritable": ("train_teacher.py", ["--data", "{data}", "--metrics", "{data}/m.json"], "--metrics"),
    "student-answers-a-teacher": ("train_student.py", ["--data", "{data}", "--answers", "{teacher}", "--lam", "0.5"],
                                  "--answers"),
    "answers-from-random-bytes": ("teacher_answers.py",
                                  ["--target-data", "{data}", "--teacher", "{random}", "--phi", "none", "--seeds", "0"],
                                  "--teacher"),
    "mapping-latent-0": ("fit_mapping.py", ["--target-data", "{data}", "--source-data", "{data}", "--latent", "0"],
                         "--latent"),
}
OUTS = {"train_teacher.py": ["--out", "t.pt", "--metrics", "t.json"], "train_student.py": ["--metrics", "m.json"],
        "teacher_answers.py": ["--out", "a.npz", "--metrics", "a.json"], "make_domain.py": ["--out", "d.npz"],
        "fit_mapping.py": ["--out", "v.pt", "--metrics", "v.json"]}


@pytest.mark.slow
def test_real_scripts_refuse_bad_arguments_in_one_line(run_script, files, tmp_path):
    random = tmp_path / "random.pt"
    random.write_bytes(bytes(range(256)) * 4)

    def run(case):
        script, args, option = BAD_RUNS[case]
        out = tmp_path / case
        out.mkdir()
        filled = [a.format(data=files["data"], teacher=files["teacher"], random=random) for a in args]
        # unless the case gives one
        outs = [x for k, v in zip(OUTS[script][::2], OUTS[script][1::2]) if k not in args for x in (k, out / v)]
        return case, option, out, run_script(script, *filled, *outs, "--threads", 1, timeout=120)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, BAD_RUNS))
    for case, option, out, r in results:
        lines = r.stderr.strip().splitlines()
        assert r.returncode != 0 and len(lines) == 1 and "Traceback" not in r.stderr, (case, r.stderr)
        assert lines[0].startswith("error: ") and option in lines[0] and "allowed: " in lines[0], (case, lines)
        assert list(out.iterdir()) == [], (case, list(out.iterdir()))
    print(f"\n{len(results)} bad command lines, {len(results)} refused in one line")

"""Real SLURM: the smoke study through profiles/slurm on a one-node cluster started on localhost
(workflow/cluster/slurm-test-cluster.sh), and one job failing on purpose through it.

The run layers a test profile over the user's one, `--profile profiles/slurm --profile tests/slurm/profile`:
the test cluster's partition, no GPUs, quick status checks, SLURM logs kept. Needs root and apt (the script
installs slurm-wlm and munge with apt-get): skipped with the reason otherwise. The cluster and the SLURM run
are session fixtures (tests/workflow_fixtures.py): the cluster starts in the background while the local
smoke run goes, the determinism test of tests/test_reliability.py compares the same SLURM run with the local
one, and the cluster is stopped at the end of the session, whether the tests pass or fail."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from slurm_cluster import NO_CLUSTER, RUN_ID, run_through_slurm, squeue
from snakemake_run import ROOT, SMOKE_CONFIG, tables

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

USER_PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"
OVERLAY = ROOT / "tests" / "slurm" / "profile" / "config.yaml"
GROUPS = {  # group -> its rules (the group: of workflow/rules/*.smk); prepare_data and the aggregation are localrules
    "students": {"teacher_answers", "train_students", "train_regression_students", "train_baselines",
                 "train_bayes_students",
                 "train_bayes_baselines"},
    "fit": {"train_teachers", "fit_mapping", "make_domain", "laplace_teachers"},
}


def job_counts(output: str) -> dict[str, int]:
    """The first 'Job stats' table of a Snakemake run as {rule: count} (with 'total')."""
    counts = {}
    for line in output[output.index("Job stats:") :].splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            break
        counts[m.group(1)] = int(m.group(2))
    return counts


def rules_text() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "workflow" / "rules").glob("*.smk")))


def with_derived(names: set[str]) -> set[str]:
    """names, plus the rules made from one of them by `use rule X as Y with:` (they keep its group and resources)."""
    return names | {new for old, new in re.findall(r"^use rule (\w+) as (\w+)", rules_text(), re.M) if old in names}


def rule_groups() -> dict[str, set[str]]:
    """group -> rules, from the `group:` directives in workflow/rules/*.smk."""
    rules = re.split(r"^rule (\w+):", rules_text(), flags=re.M)
    groups: dict[str, set[str]] = {}
    for name, body in zip(rules[1::2], rules[2::2]):
        m = re.search(r"^\s+group:\s*\n\s+\"(\w+)\"", body, re.M)
        if m:
            groups.setdefault(m.group(1), set()).add(name)
    return {group: with_derived(names) for group, names in groups.items()}


def gpu_rules() -> set[str]:
    """Rules that ask for a GPU (gpu=1 in workflow/rules/*.smk)."""
    rules = re.split(r"^rule (\w+):", rules_text(), flags=re.M)
    return with_derived({name for name, body in zip(rules[1::2], rules[2::2]) if re.search(r"\bgpu=[1-9]", body)})


# skip before any fixture runs (the local smoke run included), with the reason in the report
needs_cluster = pytest.mark.skipif(NO_CLUSTER is not None,
                                   reason=f"SLURM test cluster cannot run on this machine: {NO_CLUSTER}")


@needs_cluster
def test_smoke_study_runs_through_slurm_with_students_grouped(slurm_smoke):
    config = yaml.safe_load(SMOKE_CONFIG.read_text())
    targets = sorted({e["target"] for e in config["experiments"]})
    results = slurm_smoke.workdir / "results"
    expected = [f"tables/{name}.{ext}" for name in [*targets, "teachers"] for ext in ("csv", "md", "tex")]
    expected += [f"figures/{kind}-{t}.{ext}" for kind in ("lambda", "curves") for t in targets for ext in (
        "png", "pdf")]
    expected += ["figures/phi-examples.png", "figures/phi-examples.pdf", "tables/runtime.csv", "tables/runtime.md",
                 "config.yaml"]
    missing = [name for name in expected if not (results / name).is_file() or (results / name).stat().st_size == 0]
    assert not missing, f"missing or empty after the SLURM run: {missing}"

    # The jobs really ran as SLURM jobs: each id Snakemake printed is a job of this run (its name is
    # the run's id) that SLURM reports COMPLETED, with its log written by SLURM.
    run_id = RUN_ID.search(slurm_smoke.output).group(1)
    states = dict(line.split() for line in squeue("-n", run_id, "-o", "%i %T").splitlines())
    assert slurm_smoke.jobs, "no 'submitted with SLURM jobid' in snakemake's output"
    assert set(states) == set(slurm_smoke.jobs), f"squeue jobs {sorted(states)} != submitted {sorted(slurm_smoke.jobs)}"
    assert set(states.values()) == {"COMPLETED"}, states
    for job_id, log in slurm_smoke.jobs.items():
        assert log.name == f"{job_id}.log" and log.is_file() and log.stat().st_size > 0, log

    # Grouped as Snakemake's DAG plans it with the user's group-components (tests/slurm_dag.py): one SLURM job
    # per group job, none for the localrules; the DAG's jobs are the ones this run ran.
    plan, counts = slurm_smoke.plan, job_counts(slurm_smoke.output)
    assert counts == plan["jobs"] | {"total": sum(plan["jobs"].values())}, (counts, plan["jobs"])
    assert set(plan["groups"]) == set(GROUPS) and not plan["ungrouped"], plan
    n_slurm, n_snakemake = len(slurm_smoke.jobs), counts["total"]
    print(f"\nSLURM smoke study: {n_slurm} SLURM jobs for {n_snakemake} Snakemake jobs (group jobs "
          f"{', '.join(f'{g} {sizes}' for g, sizes in plan['groups'].items())}; local {plan['local']}), "
          f"{slurm_smoke.seconds:.0f} s")
    assert n_slurm == plan["submissions"] == sum(map(len, plan["groups"].values()))
    for group, rules in GROUPS.items():
        logs = [log for log in slurm_smoke.jobs.values() if log.parent.name.startswith(f"group_{group}")]
        assert len(logs) == len(plan["groups"][group]), (group, logs)
        assert sum(plan["groups"][group]) == sum(counts.get(rule, 0) for rule in rules), group
        assert len(plan["groups"][group]) < sum(plan["groups"][group]), group  # fewer SLURM jobs than jobs
    assert set(plan["local"]) == {"tables", "figures", "runtime", "config_used", "all"}  # prepare_data: data copied


@needs_cluster
def test_slurm_tables_equal_local_tables(slurm_smoke, smoke_local):
    """Same seeds, same threads, same numbers: SLURM and the local profile write byte-identical tables."""
    local, remote = tables(smoke_local), tables(slurm_smoke.workdir)
    assert sorted(remote) == sorted(local)
    differ = [name for name in local if local[name] != remote[name]]
    assert not differ, (f"tables differ between the local and the SLURM run: {differ}\n--- local {differ[0]}\n"
                        f"{local[differ[0]].decode()}\n--- slurm {differ[0]}\n{remote[differ[0]].decode()}")


@needs_cluster
def test_a_failing_slurm_job_fails_the_run_and_shows_its_log(slurm_smoke, tmp_path):
    """Corrupt one experiment's teacher answers: its student sweep fails as a SLURM job, the run exits non-zero
    with the sweep's error and both logs shown, and (keep-going) an independent job still finishes."""
    workdir = tmp_path / "smoke-slurm-broken"
    shutil.copytree(slurm_smoke.workdir, workdir, symlinks=True)  # copy2: mtimes kept, nothing else reruns
    answers = "results/answers/bike-from-bike+vae/vae.npz"
    (workdir / answers).write_bytes(b"garbage: not a teacher answers file\n")
    (workdir / "results" / "config.yaml").unlink()  # config_used: a job that does not need the students

    r, out, jobs = run_through_slurm(workdir, timeout=300)
    assert r.returncode != 0, out[-4000:]
    assert re.search(r"Error in group students", out), out[-4000:]
    # the failed SLURM job's log, and the student's own log with its one-line error, are printed
    group = [job_id for job_id, log in jobs.items() if log.parent.name.startswith("group_students")]
    assert len(group) == 1, jobs
    assert f"Logfile {jobs[group[0]]}:" in out, out[-4000:]
    assert re.search(rf"Logfile logs/train_regression_students/bike/n200/bike\+vae-vae\.log:\n\s*=+\n\s*error: "
                     rf"--answers {re.escape(answers)} is not a file any step writes", out), out[-4000:]
    assert squeue("-j", group[0], "-o", "%T").strip() == "FAILED"
    # keep-going: the independent job ran (a localrule: here, not as a SLURM job), the tables were not rebuilt
    assert re.search(r"^localrule config_used:$", out, re.M), out[-4000:]
    assert not any("config_used" in log.parent.name for log in jobs.values()), jobs
    assert (workdir / "results" / "config.yaml").is_file()
    assert tables(workdir) == tables(slurm_smoke.workdir)


def test_test_profile_changes_only_what_the_test_cluster_needs():
    """A later --profile replaces whole top-level keys: the overlay restates default-resources and set-resources,
    and must stay in step with profiles/slurm (except partition, account and GPUs)."""
    user, overlay = yaml.safe_load(USER_PROFILE.read_text()), yaml.safe_load(OVERLAY.read_text())
    cluster_only = {"slurm_partition", "slurm_account"}
    assert {k: v for k, v in overlay["default-resources"].items() if k not in cluster_only} == {
        k: v for k, v in user["default-resources"].items() if k not in cluster_only
    }
    assert overlay["default-resources"]["slurm_partition"] == "debug"  # the test cluster's partition
    gpu = {"gpu", "gpu_model", "gres"}
    user_rules, overlay_rules = user.get("set-resources") or {}, overlay["set-resources"]
    assert rule_groups() == GROUPS  # what the SLURM tests expect grouped is what the rules group
    assert {entry.split("=")[0] for entry in user["group-components"]} == set(GROUPS)
    assert gpu_rules() >= set().union(*GROUPS.values())  # teachers, mappings, answers and student sweeps
    assert set(overlay_rules) == set(user_rules) | gpu_rules()
    for rule in overlay_rules:
        kept = {k: v for k, v in (user_rules.get(rule) or {}).items() if k not in gpu}
        assert overlay_rules[rule] == kept | ({"gpu": 0} if rule in gpu_rules() else {}), rule
    # what the tests check must come from the user's profile, not the overlay
    for key in ("executor", "keep-going", "show-failed-logs", "slurm-status-command", "group-components", "cores"):
        assert key in user and key not in overlay, key
    # `cores` caps every rule's threads: below the largest, a SLURM run would compute with fewer threads than a
    # local one
    threads = [int(n) for p in (ROOT / "workflow" / "rules").glob("*.smk")
               for n in re.findall(r"^\s*threads:\s*(\d+)", p.read_text(), re.M)]
    assert user["cores"] >= max(threads), (user["cores"], max(threads))

"""What a SLURM run of the study would submit, read from Snakemake's own DAG (no cluster needed).

    python tests/slurm_dag.py WORKDIR SNAKEMAKE_ARGS...   e.g.  /tmp/w --profile profiles/slurm

The arguments (profiles included) are read by Snakemake's own command-line parser, so the group
components, groups and executor are the ones `snakemake SNAKEMAKE_ARGS` would use. Then the dry run of
`snakemake -n --executor slurm` builds the DAG, which forms the group jobs (DAG.update_groups: the
connected pieces of each group, merged group-components at a time). A SLURM submission is one group job,
or one job without a group that is not local (Job.is_local, asked as the SLURM executor would ask it:
localrules and rules without a shell run where Snakemake runs). Prints a JSON object:

    {"submissions": N, "groups": {group: [jobs of each group job]}, "ungrouped": {rule: n},
     "local": {rule: n}, "jobs": {rule: n}}

Runs in its own process: the API changes the working directory and sets up Snakemake's logging.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def submissions(workdir: Path, *args: str, timeout: int = 120) -> dict:
    """Run this module on the real workflow (ROOT/Snakefile) in a subprocess, from ROOT; its JSON as a dict."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    r = subprocess.run([sys.executable, __file__, str(workdir), *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"slurm_dag.py {workdir} {' '.join(args)} exited "
                             f"{r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(workdir: str, *argv: str) -> dict:
    from snakemake.api import SnakemakeApi
    from snakemake.cli import parse_args, parse_config
    from snakemake.settings.types import (ConfigSettings, DAGSettings, GroupSettings, OutputSettings, Quietness,
                                          ResourceSettings)
    from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry

    _, args = parse_args(["--snakefile", str(ROOT / "Snakefile"), "--directory", workdir, *argv])
    if args.executor != "slurm":
        raise SystemExit(f"error: these arguments select executor {args.executor!r}, not slurm (give --profile "
                         f"profiles/slurm)")
    slurm = ExecutorPluginRegistry().get_plugin("slurm")
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=args.cores, nodes=args.jobs, local_cores=args.local_cores),
            config_settings=ConfigSettings(config=parse_config(args.config), configfiles=args.configfile,
                                           config_args=args.config),
            snakefile=Path(args.snakefile),
            workdir=Path(args.directory),
        )
        dag_api = workflow_api.dag(DAGSettings(targets=set(args.targets)))
        # the dry run of `snakemake -n`, validated against the SLURM executor: builds the DAG and its group jobs
        dag_api.execute_workflow(
            executor="slurm",
            pseudo_executor="dryrun",
            group_settings=GroupSettings(
                group_components=args.group_components,
                overwrite_groups=args.groups,
                local_groupid=args.local_groupid,
            ),
        )
        workflow = workflow_api._workflow
        dag = workflow.dag
        # The dry run executed with the dry-run executor, for which every job is local; ask Job.is_local
        # as the SLURM executor would (localrules and rules without a shell stay local).
        workflow._executor_plugin = slurm
        assert not workflow.local_exec, "could not put the SLURM executor in place: every job would count as local"
        jobs = list(dag.needrun_jobs(exclude_finished=False))  # the dry run marks its jobs finished
        groups = {dag.get_job_group(job) for job in jobs} - {None}
        ungrouped = [job for job in jobs if dag.get_job_group(job) is None]
        remote = [job for job in ungrouped if not job.is_local]
        group_sizes: dict[str, list[int]] = {}
        for group in sorted(groups, key=lambda g: (g.groupid, -len(g.jobs), sorted(map(str, g.jobs)))):
            group_sizes.setdefault(group.groupid, []).append(len(group.jobs))
        return {
            "submissions": len(groups) + len(remote),
            "groups": group_sizes,
            "ungrouped": dict(Counter(job.rule.name for job in remote)),
            "local": dict(Counter(job.rule.name for job in ungrouped if job.is_local)),
            "jobs": dict(Counter(job.rule.name for job in jobs)),
        }


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print(json.dumps(main(*sys.argv[1:])))

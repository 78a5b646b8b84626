"""The sbatch line of every job a SLURM profile would submit, checked against its partitions.

    python tools/sbatch_lines.py [--attempts N] [--json] -- [snakemake arguments]

e.g. ``python tools/sbatch_lines.py -- --profile profiles/slurm grid``. It plans the DAG
as ``snakemake -n`` does (every job, as if nothing existed: ``--forceall``), then builds
each job's submission with the SLURM executor plugin's own code (partition choice from
the profile's ``slurm-partition-config``, ``get_submit_command``, ``set_gres_string``),
for attempt 1 and every retry, and checks the partition, GPUs, CPUs, memory and wall
time against that partition table. Local rules (never submitted) are listed apart. It
submits nothing and needs no SLURM. Exit status 1 if any job would not fit.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from math import isinf
from types import SimpleNamespace


class _Planned(BaseException):
    """Raised from inside Snakemake once the DAG is built (not an Exception: its CLI
    catches those)."""

    def __init__(self, workflow, executor_settings):
        self.workflow = workflow
        self.executor_settings = executor_settings


@dataclass
class Submission:
    rule: str
    wildcards: dict
    attempt: int
    sbatch: str
    partition: str | None
    gpus: int
    cpus: int
    mem_mb: int | None
    runtime: int | None
    problems: list = field(default_factory=list)


def plan(snakemake_args: list[str]) -> _Planned:
    """The Snakemake workflow after its DAG is built for ``snakemake_args``, and the
    executor plugin's settings (a dry run hands them to no executor: caught on the way)."""
    import snakemake.api
    import snakemake.cli
    import snakemake.workflow

    build_dag = snakemake.workflow.Workflow._build_dag
    execute_workflow = snakemake.api.DAGApi.execute_workflow
    seen = {}

    def keep_settings(self, *args, **kwargs):
        seen["executor_settings"] = kwargs.get("executor_settings")
        return execute_workflow(self, *args, **kwargs)

    def build_then_stop(self, *args, **kwargs):
        build_dag(self, *args, **kwargs)
        raise _Planned(self, seen.get("executor_settings"))

    snakemake.workflow.Workflow._build_dag = build_then_stop
    snakemake.api.DAGApi.execute_workflow = keep_settings
    try:
        parser, args = snakemake.cli.parse_args(["--dry-run", "--forceall", "--quiet", "--cores", "1024", *snakemake_args])
        snakemake.cli.args_to_api(args, parser)
    except _Planned as planned:
        return planned
    finally:
        snakemake.workflow.Workflow._build_dag = build_dag
        snakemake.api.DAGApi.execute_workflow = execute_workflow
    raise SystemExit("snakemake stopped before building its DAG (see its message above)")


def _flag(call: str, pattern: str) -> str | None:
    found = re.search(pattern, call)
    return found.group(1) if found else None


def submissions(planned: _Planned, attempts: int):
    """(submitted, local): a Submission per job and attempt; the local jobs' rule names."""
    from snakemake_executor_plugin_slurm.partitions import read_partition_file

    workflow, settings = planned.workflow, planned.executor_settings
    if settings is None or not getattr(settings, "partition_config", None):
        raise SystemExit("the profile sets no slurm-partition-config: nothing to check against")
    partitions = read_partition_file(settings.partition_config)
    limits = {p.name: p.limits for p in partitions}
    logger = SimpleNamespace(info=lambda *a: None, debug=lambda *a: None, warning=lambda *a: None)
    # the plugin's own partition choice; "" instead of asking sinfo for a default
    chooser = SimpleNamespace(_partitions=partitions, _fallback_partition="", logger=logger)
    # The DAG was planned by a dry run, which executes locally; make the jobs' local
    # rules and resources what the SLURM executor sees.
    workflow_class = type(workflow)
    local_exec = workflow_class.local_exec
    workflow_class.local_exec = property(lambda self: False)
    try:
        return _submissions(workflow, settings, chooser, limits, attempts)
    finally:
        workflow_class.local_exec = local_exec


def _submissions(workflow, settings, chooser, limits, attempts):
    from snakemake_executor_plugin_slurm import Executor
    from snakemake_executor_plugin_slurm.submit_string import get_submit_command
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    params = {"run_uuid": "RUN", "slurm_logfile": "LOG", "comment_str": "COMMENT",
              "account": "", "workdir": None}
    submitted, local = [], set()
    for job in workflow.dag.needrun_jobs():
        if job.is_local:
            local.add(job.rule.name)
            continue
        for attempt in range(1, attempts + 1):
            job.attempt = attempt
            partition_arg = Executor.get_partition_arg(chooser, job) or ""
            call = get_submit_command(job, {**params, "partition": partition_arg}, settings=settings)
            call += set_gres_string(job)
            partition = _flag(call, r"-p '?([^' ]+)'?")
            gpus = int(_flag(call, r"--gpus=(\d+)") or 0)
            per_gpu = _flag(call, r"--cpus-per-gpu=(\d+)")
            cpus = int(per_gpu) * max(gpus, 1) if per_gpu else int(_flag(call, r"--cpus-per-task=(\d+)") or 1)
            mem = _flag(call, r"--mem (\d+)")
            runtime = _flag(call, r"-t '?(\d+)'?")
            sub = Submission(job.rule.name, dict(job.wildcards_dict), attempt, call.strip(), partition,
                             gpus, cpus, int(mem) if mem else None, int(runtime) if runtime else None)
            sub.problems = check(sub, limits.get(partition), per_gpu is not None)
            submitted.append(sub)
    return submitted, sorted(local)


def check(sub: Submission, limit, cpus_per_gpu: bool) -> list[str]:
    """What of one submission its partition's limits would refuse (or a missing partition)."""
    if limit is None:
        return [f"no partition of the table fits (sbatch gets {sub.partition!r})"]
    problems = []
    if sub.gpus > limit.max_gpu:
        problems.append(f"{sub.gpus} GPU(s) on a partition with max_gpu {limit.max_gpu}")
    if sub.gpus == 0 and limit.max_gpu > 0:
        problems.append("a CPU job on a GPU partition")
    if sub.mem_mb is None or sub.runtime is None:
        problems.append("no --mem or no -t: the cluster's defaults decide")
    if sub.mem_mb is not None and sub.mem_mb > limit.max_mem_mb:
        problems.append(f"--mem {sub.mem_mb} > max_mem_mb {limit.max_mem_mb:g}")
    if sub.runtime is not None and sub.runtime > limit.max_runtime:
        problems.append(f"-t {sub.runtime} > max_runtime {limit.max_runtime:g}")
    if sub.cpus > limit.max_threads:
        problems.append(f"{sub.cpus} CPUs > max_threads {limit.max_threads:g}")
    if cpus_per_gpu and sub.gpus and not isinf(limit.max_cpus_per_gpu) and sub.cpus / sub.gpus > limit.max_cpus_per_gpu:
        problems.append(f"{sub.cpus // sub.gpus} CPUs per GPU > max_cpus_per_gpu {limit.max_cpus_per_gpu:g}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=None,
                        help="attempts per job (default: 1 + the profile's retries)")
    parser.add_argument("--json", action="store_true", help="one JSON object per submission")
    parser.add_argument("snakemake_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    snakemake_args = [a for a in args.snakemake_args if a != "--"]
    planned = plan(snakemake_args)
    attempts = args.attempts or 1 + (planned.workflow.execution_settings.retries or 0)
    submitted, local = submissions(planned, attempts)
    for sub in submitted:
        if args.json:
            print(json.dumps(asdict(sub)))
        else:
            wildcards = ",".join(f"{k}={v}" for k, v in sub.wildcards.items())
            mark = "  !! " + "; ".join(sub.problems) if sub.problems else ""
            print(f"{sub.rule}[{wildcards}] attempt {sub.attempt}: -p {sub.partition} "
                  f"gpus={sub.gpus} cpus={sub.cpus} mem={sub.mem_mb} t={sub.runtime}{mark}")
    bad = [s for s in submitted if s.problems]
    print(f"{len(submitted)} submissions ({len({(s.rule, json.dumps(s.wildcards)) for s in submitted})} jobs "
          f"x attempts), {len(bad)} that the partitions would refuse; local rules: {', '.join(local) or 'none'}",
          file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Entry point behind utils/run.pl, utils/slurm.pl and utils/queue.pl."""
import sys

from sebench.jobs.runner import USAGE, RunnerError, parse_args, run_local
from sebench.jobs.scheduler import SCHEDULERS

NAMES = {"run": "run.pl", "slurm": "slurm.pl", "queue": "queue.pl"}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in NAMES:
        sys.stderr.write("usage: python -m sebench.jobs {run,slurm,queue} ARGS...\n")
        return 2
    kind, rest = argv[0], argv[1:]
    runner = NAMES[kind]
    try:
        spec = parse_args(rest, runner)
        if kind == "run":
            return run_local(spec)
        return SCHEDULERS[kind]().run(spec)
    except RunnerError as e:
        if str(e) == "usage":
            sys.stdout.write(USAGE.format(runner=runner))
            return 0 if rest and rest[0] in ("-h", "--help") else 1
        sys.stderr.write(f"{runner}: error: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())

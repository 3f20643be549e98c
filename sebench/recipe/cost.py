"""What a training plan will cost: how many trainings it implies (searches and seeds multiply
them), how many are done, and the hours left where finished runs of the same systems give a
duration (se.sh prints this before stage 6)."""
import os
import statistics


TRAINING_KINDS = ("train", "qp")


def _system_of(item_name):
    """``adv_irm.trial3`` / ``adv_irm.seed1`` / ``adv_irm`` -> ``adv_irm``."""
    return item_name.split(".", 1)[0]


def run_seconds(exp_dir):
    """Wall seconds of a finished training (config.yaml written at its start, .done at its
    end; a resumed run counts from its last start), or None."""
    done, start = os.path.join(exp_dir, ".done"), os.path.join(exp_dir, "config.yaml")
    if not (os.path.isfile(done) and os.path.isfile(start)):
        return None
    seconds = os.path.getmtime(done) - os.path.getmtime(start)
    return seconds if seconds > 0 else None


def training_cost(plan_file):
    """One paragraph: trainings in the plan (per system), done, and the estimate."""
    items = []
    with open(plan_file, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    for line in lines:
        kind, name, out = (line.split("\t") + ["", "", ""])[:3]
        if kind in TRAINING_KINDS:
            items.append((_system_of(name), name, out))
    if not items:
        return "no training in this plan"
    per_system, known = {}, {}
    for system, _, out in items:
        per_system[system] = per_system.get(system, 0) + 1
        seconds = run_seconds(out)
        if seconds is not None:
            known.setdefault(system, []).append(seconds)
    todo = [(s, n, out) for s, n, out in items if not os.path.isfile(os.path.join(out, ".done"))]
    counts = ", ".join(f"{s} {n}" for s, n in per_system.items())
    text = (f"{len(items)} trainings ({counts}); {len(items) - len(todo)} done, "
            f"{len(todo)} to run")
    if not todo:
        return text
    every = [x for xs in known.values() for x in xs]
    if not every:
        return text + "; no finished run to estimate their time from yet"
    fallback = statistics.median(every)
    guessed = sum(statistics.median(known[s]) if s in known else fallback for s, _, _ in todo)
    unknown = sorted({s for s, _, _ in todo if s not in known})
    note = f" ({', '.join(unknown)} guessed from the other systems)" if unknown else ""
    return (text + f"; about {guessed / 3600:.2f} h left at the durations of the finished "
            f"runs on this machine, run one after another{note}")

"""Published numbers beside ours: eval.yaml's ``published:`` rows, marked as such.

::

    published:                  # rows appended to the main table, in italics, never computed
      - {name: Non-Adv, source: "paper 004, Tables I-II", set: test,
         values: {sisdr: 19.26, pesq_wb: 2.57}}

``set`` defaults to the policy's first set; columns without a published value show ``–``.
"""
from sebench.errors import ConfigError
from sebench.utils.schema import check_mapping

PUBLISHED_KEYS = ("name", "source", "set", "values")


def load_published(value, policy, where):
    """Check ``published:`` against the policy's sets and columns; returns a list of dicts."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: published: expected a list of rows")
    rows = []
    for i, entry in enumerate(value):
        here = f"{where}: published[{i}]"
        entry = check_mapping(entry, here, PUBLISHED_KEYS, required=("name", "source", "values"))
        set_name = str(entry.get("set") or policy.sets[0].name)
        columns = policy.set(set_name).columns
        values = check_mapping(entry["values"], f"{here}.values")
        for metric, v in values.items():
            if metric not in columns:
                raise ConfigError(f"{here}: '{metric}' is not a column of set {set_name} "
                                  f"({', '.join(columns)})")
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise ConfigError(f"{here}: {metric}: expected a number, got {v!r}")
        rows.append({"name": str(entry["name"]), "source": str(entry["source"]),
                     "set": set_name, "values": {k: float(v) for k, v in values.items()}})
    return rows


def published_lines(policy):
    """Main-table rows: ``| *NAME (published: SOURCE)* | ... |``."""
    lines = []
    for row in policy.published:
        cells = [f"*{row['name']} (published: {row['source']})*"]
        for s in policy.sets:
            for m in s.columns:
                v = row["values"].get(m) if s.name == row["set"] else None
                cells.append("–" if v is None else f"*{v:.2f}*")
        lines.append("| " + " | ".join(cells) + " |")
    return lines

"""The evaluation policy of a recipe, ``conf/eval.yaml``: the single source of truth for
which metrics each test set gets (the score stage) and how RESULTS.md shows them (``sebench
report``)::

    title: egs/vbd/se1 results
    note: A paragraph under the title.
    sets:                                 # test sets, in column-group order
      test:
        metrics: pesq_wb,stoi,sisdr,sdr,sir,sar,csig,cbak,covl   # what `sebench score` computes
        reference: true                   # intrusive: score against the set's clean.scp
        columns: [pesq_wb, stoi, sisdr]   # table columns (default: every computed metric)
        score_args: --noisy {data}/{set}  # more `sebench score` options ({data}, {set})
        breakdown: [device, room]         # also a table per group of utt2device x utt2room
                                          # ([[snr], [noise]]: one table per utt2snr value,
                                          # another per utt2noise value)
      real_test:
        metrics: nonintrusive             # DNSMOS + SRMR, no reference
        qp: {cnn: "{exp:qp_cnn}"}         # + column qp_cnn: a trained predictor's score
        # an optional judge: scored only where its Python modules are installed ("–" else)
        #   qp: {distillmos: {path: distillmos, requires: [distillmos, xls_r_sqa]}}
    names: {pesq_wb: PESQ-WB, nonadv: Non-Adv}    # display names of columns and rows
    significance:                         # Wilcoxon signed-rank, each system vs the baseline
      baseline: nonadv
      metrics: [pesq_wb, sisdr]           # on every set whose columns include them
      alpha: 0.01                         # marked with * below this p-value
    published:                            # papers' numbers as marked rows (results/published.py)
      - {name: Non-Adv, source: "paper 004", values: {pesq_wb: 2.57}}
    comparison:                           # the table of every method (results/comparison.py)
      systems: [noisy, supervised, gan]   # rows (or all: recipe.yaml's); not run: a note
      columns: {test: [pesq_wb, sisdr], real_test: [dnsmos_ovrl]}   # default: each set's
      significance: [pesq_wb]             # p-values vs the baseline (default: significance's)
      judges: {set: real_test, columns: [dnsmos_p808, qp_cnn]}   # teacher vs judge group
      input: [noisy]                      # rows never marked best (default: `enhance: input`)
      about: {gan: {teacher: dnsmos_p808}}   # what cannot be derived from the experiments
"""
from dataclasses import dataclass, field

from sebench.config import load_yaml
from sebench.errors import ConfigError
from sebench.utils.schema import as_list, check_mapping

#: default display names of metric columns
METRIC_NAMES = {"pesq_wb": "PESQ-WB", "pesq_nb": "PESQ-NB", "stoi": "STOI", "estoi": "ESTOI",
                "sisdr": "SI-SDR", "sdr": "SDR", "sir": "SIR", "sar": "SAR", "snr": "SNR",
                "segsnr": "SNRseg", "csig": "CSIG", "cbak": "CBAK", "covl": "COVL",
                "dnsmos_p808": "P.808", "dnsmos_sig": "SIG", "dnsmos_bak": "BAK",
                "dnsmos_ovrl": "OVRL", "srmr": "SRMR", "wada_snr": "WADA-SNR"}
POLICY_KEYS = ("title", "note", "sets", "names", "significance", "published",
               "comparison")
SET_KEYS = ("metrics", "reference", "columns", "score_args", "breakdown", "qp")
SIGNIFICANCE_KEYS = ("baseline", "metrics", "alpha")


@dataclass
class EvalSet:
    name: str
    metrics: list                 # names given to `sebench score --metrics`
    columns: list                 # summary.json columns shown in the table
    reference: bool = False
    score_args: str = ""
    # one list of utt2<name> files per extra table; the table groups by their joined values
    breakdown: list = field(default_factory=list)


@dataclass
class EvalPolicy:
    sets: list
    title: str = "Results"
    note: str = ""
    names: dict = field(default_factory=dict)
    baseline: str = None
    significance_metrics: list = field(default_factory=list)
    published: list = field(default_factory=list)    # rows from papers, marked as such
    alpha: float = 0.01
    comparison: object = None     # sebench.results.comparison.Comparison, when configured
    qp: dict = field(default_factory=dict)   # set -> {predictor name: `score --qp` path}
    # set -> {predictor name: its missing modules}: optional judges this install cannot run
    # (their columns stay in the tables, empty)
    qp_unavailable: dict = field(default_factory=dict)

    def computed(self, set_name):
        """Every column a set's scoring writes (its table may show fewer; an optional judge
        this install cannot run counts, and stays empty)."""
        ev = self.set(set_name)
        return _computed_columns(ev.metrics, list(self.qp.get(set_name, {}))
                                 + list(self.qp_unavailable.get(set_name, {})))

    def display(self, name):
        return self.names.get(name, METRIC_NAMES.get(name, name))

    def set(self, name):
        for s in self.sets:
            if s.name == name:
                return s
        raise ConfigError(f"no test set '{name}' in the evaluation policy "
                          f"(sets: {', '.join(s.name for s in self.sets)})")


def _computed_columns(metrics, qp=()):
    from sebench.metrics import columns_of, expand
    from sebench.scoring.predictors import column_of
    return ([c for c in columns_of(expand(metrics)[0]) if not c.endswith("_raw")]
            + [column_of(name) for name in qp])


QP_KEYS = ("path", "requires")


def _predictor_specs(spec, where, unavailable=None):
    """A set's ``qp: {name: path or {path, requires}}`` (predictors scored as columns
    qp_<name>) -> {name: path} of those this install can run; the others (a required module
    missing) go to ``unavailable`` as {name: [missing modules]}."""
    from sebench.recipe.systems import importable
    from sebench.scoring.predictors import NAME
    qp = {}
    for qp_name, value in check_mapping(spec.get("qp") or {}, where).items():
        qp_name = str(qp_name)
        if not NAME.match(qp_name):
            raise ConfigError(f"{where}: the name '{qp_name}' must be letters, digits and _")
        requires = []
        if isinstance(value, dict):
            value = check_mapping(value, f"{where}.{qp_name}", QP_KEYS, required=("path",))
            requires = as_list(value.get("requires"), f"{where}.{qp_name}.requires")
            value = value["path"]
        missing = [m for m in requires if not importable(str(m))]
        if missing:
            if unavailable is not None:
                unavailable[qp_name] = missing
            continue
        qp[qp_name] = str(value)
    return qp


def _eval_set(name, spec, where):
    spec = check_mapping(spec, f"{where}: sets.{name}", SET_KEYS, required=("metrics",))
    metrics = as_list(spec["metrics"], f"{where}: sets.{name}.metrics")
    unavailable = {}
    qp = _predictor_specs(spec, f"{where}: sets.{name}.qp", unavailable)
    computed = _computed_columns(metrics, list(qp) + list(unavailable))
    columns = as_list(spec.get("columns"), f"{where}: sets.{name}.columns") or computed
    for col in columns:
        if col not in computed:
            raise ConfigError(f"{where}: sets.{name}: column '{col}' is not computed by its "
                              f"metrics ({', '.join(metrics)})")
    reference = spec.get("reference", False)
    if not isinstance(reference, bool):
        raise ConfigError(f"{where}: sets.{name}.reference: expected true or false")
    return EvalSet(name, metrics, columns, reference, str(spec.get("score_args") or ""),
                   _breakdowns(spec.get("breakdown"), f"{where}: sets.{name}.breakdown"))


def _breakdowns(value, where):
    """``[a, b]`` -> [[a, b]] (one table by a x b); ``[[a], [b]]`` -> two tables."""
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return [as_list(v, where) for v in value]
    fields = as_list(value, where)
    return [fields] if fields else []


def load_policy(path):
    """Read and check ``eval.yaml``; every problem is a one-line ConfigError naming the file."""
    data = check_mapping(load_yaml(path), str(path), POLICY_KEYS, required=("sets",))
    sets = check_mapping(data["sets"], f"{path}: sets")
    if not sets:
        raise ConfigError(f"{path}: sets is empty")
    policy = EvalPolicy([_eval_set(name, spec, path) for name, spec in sets.items()],
                        title=str(data.get("title") or "Results"),
                        note=" ".join(str(data.get("note") or "").split()),
                        names={str(k): str(v) for k, v in
                               check_mapping(data.get("names") or {}, f"{path}: names").items()})
    for name, spec in sets.items():
        if spec.get("qp"):
            unavailable = {}
            policy.qp[name] = _predictor_specs(spec, f"{path}: sets.{name}.qp", unavailable)
            if unavailable:
                policy.qp_unavailable[name] = unavailable
    sig = check_mapping(data.get("significance") or {}, f"{path}: significance",
                        SIGNIFICANCE_KEYS)
    if sig:
        if not sig.get("baseline"):
            raise ConfigError(f"{path}: significance needs a baseline system")
        policy.baseline = str(sig["baseline"])
        policy.significance_metrics = as_list(sig.get("metrics"), f"{path}: significance.metrics")
        shown = {c for s in policy.sets for c in s.columns}
        for m in policy.significance_metrics:
            if m not in shown:
                raise ConfigError(f"{path}: significance metric '{m}' is not a column of any set")
        policy.alpha = float(sig.get("alpha", 0.01))
    from sebench.results.published import load_published
    policy.published = load_published(data.get("published"), policy, str(path))
    if data.get("comparison") is not None:
        from sebench.results.comparison import load_comparison
        policy.comparison = load_comparison(data["comparison"], policy, path)
    return policy


def policy_from_specs(specs, title="Results", note=""):
    """A policy from ``--set SET:metric,metric`` arguments (report without an eval.yaml)."""
    sets = []
    for spec in specs:
        name, _, metrics = spec.partition(":")
        if not name or not metrics:
            raise ConfigError(f"--set {spec}: expected SET:metric,metric")
        columns = as_list(metrics, f"--set {spec}")
        sets.append(EvalSet(name, columns, columns))
    return EvalPolicy(sets, title=title, note=note)

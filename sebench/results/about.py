"""What each row of the comparison table is: its training data, teacher, SE model and budget,
read from what the experiments saved (``exp/<system>/config.yaml`` with the training command
line, ``model/model.yaml``, ``model/info.json``), the recipe's system entry
(``exp/conf/recipe.yaml``: the enhancer spec of systems that are not one trained model) and
the data dirs the training read (``clean.scp`` present, or an on-the-fly stream that is not
``unpaired``: paired). ``about:`` entries in
``recipe.yaml`` or ``eval.yaml`` override any field that cannot be derived.
"""
import json
import os
import shlex
from dataclasses import dataclass, field

from sebench.config import load_yaml
from sebench.errors import ConfigError

ABOUT_KEYS = ("data", "teacher", "model", "params", "steps", "sets", "input")
DATA_KINDS = ("paired", "unpaired", "both", "none")
#: how teacher ids read in the table (learned predictors read as their column, e.g. qp_cnn)
TEACHER_NAMES = {"none": "none", "pesq": "true PESQ", "pesqnet": "PESQNet (true PESQ)",
                 "dnsmos_p808": "DNSMOS P.808", "dnsmos_ovrl": "DNSMOS OVRL",
                 "dnsmos_sig": "DNSMOS SIG", "dnsmos_bak": "DNSMOS BAK"}
#: the models of the pretrained enhancers (sebench/enhance/pretrained.py) as the table names them
PRETRAINED_MODELS = {"dfn3": "DeepFilterNet 3", "rnnoise": "RNNoise"}


@dataclass
class About:
    data: set = field(default_factory=set)      # {"paired", "unpaired"}; empty: none
    teacher: str = "none"       # an id: none, dnsmos_p808, pesq, pesqnet, qp_<name>
    teacher_path: str = None    # a learned teacher's model dir (matched to score columns)
    model: str = "?"
    params: int = None
    steps: list = field(default_factory=list)   # training steps of each trained part
    sets: list = field(default_factory=list)    # training sets, "stream=set" for streams
    input: bool = False         # the unprocessed input (never marked best)
    known: bool = True          # False: nothing found to derive from

    @property
    def data_kind(self):
        if isinstance(self.data, str):
            return self.data
        if self.data >= {"paired", "unpaired"}:
            return "both"
        return next(iter(self.data)) if self.data else "none"

    def merge(self, other):
        """This part plus another (e.g. a model fine-tuned from another, or post-processed)."""
        self.data = set(self.data) | set(other.data)
        self.steps = other.steps + self.steps
        self.sets = [s for s in other.sets if s not in self.sets] + self.sets
        if self.teacher == "none" and other.teacher != "none":
            self.teacher, self.teacher_path = other.teacher, other.teacher_path
        return self


def _predictor_teacher(path):
    from sebench.quality import PRETRAINED
    from sebench.scoring.predictors import column_of
    if not path:
        return "none", None
    path = str(path)
    if path in PRETRAINED:
        return column_of(path), None
    base = os.path.basename(os.path.normpath(path))
    name = base if base.startswith("qp_") else column_of(base)
    return name, path


def _label_teacher(metric):
    return ("pesq", None) if metric == "pesq" else (f"dnsmos_{metric}", None)


#: method -> its teacher (id, model path) from (method_options, experiment dir)
TEACHERS = {
    "deepdream": lambda o, exp: _predictor_teacher(o.get("qp")),
    "gan": lambda o, exp: _label_teacher(o.get("label_metric", "p808")),
    "semi": lambda o, exp: _label_teacher(o.get("label_metric", "p808")),
    "pesqnet": lambda o, exp: (("pesqnet", os.path.join(exp, "model_pesqnet"))
                               if float(o.get("alpha", 0.0)) < 1 else ("none", None)),
    # teacher-student self-training: the teacher is an SE model, not a quality predictor
    "remixit": lambda o, exp: ((f"{os.path.basename(os.path.normpath(str(o['teacher'])))} "
                                "(SE teacher)", None) if o.get("teacher") else ("none", None)),
}
#: method -> the option naming the trained SE model it starts from or learns from, whose data
#: and steps count as its own (default: init_from)
SE_SOURCES = {"remixit": "teacher"}


def _command_words(config_file):
    """The training command saved in config.yaml's header (``# command: sebench ...``)."""
    with open(config_file, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            if line.startswith("# command:"):
                return shlex.split(line[len("# command:"):])
    return []


def _training_cwd(words, exp_dir):
    """Where the training command ran, found from its --exp (which names ``exp_dir``)."""
    if "--exp" not in words[:-1]:
        return None
    given = words[words.index("--exp") + 1]
    if os.path.isabs(given):
        return None
    cwd = os.path.abspath(exp_dir)
    for _ in os.path.normpath(given).split(os.sep):
        cwd = os.path.dirname(cwd)
    return cwd


def _from(cwd, path):
    return path if os.path.isabs(path) or cwd is None else os.path.join(cwd, path)


def _training_sets(words, cwd):
    """[(label, data dir)] of the command's --train options."""
    sets = []
    for i, word in enumerate(words[:-1]):
        if word == "--train":
            stream, eq, path = words[i + 1].rpartition("=")
            name = os.path.basename(os.path.normpath(path))
            sets.append((f"{stream}={name}" if eq else name, _from(cwd, path)))
    return sets


def _count_params(model_dir):
    from sebench.models.store import build_from_config, read_config
    cfg = read_config(model_dir)
    return cfg, sum(p.numel() for p in build_from_config(cfg).parameters())


def _model_name(cfg):
    if cfg.get("kind") == "composite":
        parts = "+".join(str(p.get("name")) for p in (cfg.get("parts") or {}).values())
        return f"{cfg.get('name')} ({parts})"
    return str(cfg.get("name") or cfg.get("kind") or "?")


def describe_experiment(exp_dir, seen=()):
    """An About from a trained experiment dir (``sebench train`` or ``train-qp``)."""
    about = About()
    exp_dir = os.path.abspath(exp_dir)
    config_file = os.path.join(exp_dir, "config.yaml")
    if not os.path.isfile(config_file):
        return About(known=False)
    cfg = load_yaml(config_file) or {}
    options = cfg.get("method_options") or {}
    words = _command_words(config_file)
    cwd = _training_cwd(words, exp_dir)
    from sebench.train.onthefly import stream_file, stream_is_paired   # torch: only here
    for label, path in _training_sets(words, cwd):
        about.sets.append(label)
        if os.path.isdir(path) or stream_file(path):   # a data dir or an on-the-fly stream
            about.data.add("paired" if os.path.isfile(os.path.join(path, "clean.scp")) or
                           stream_is_paired(path) else "unpaired")
    teacher = TEACHERS.get(cfg.get("method"))
    if teacher:
        about.teacher, about.teacher_path = teacher(options, exp_dir)
        if about.teacher_path:
            about.teacher_path = _from(cwd, about.teacher_path)
    model_dir = os.path.join(exp_dir, "model")
    if os.path.isfile(os.path.join(model_dir, "model.yaml")):
        model_cfg, about.params = _count_params(model_dir)
        about.model = _model_name(model_cfg)
    info = os.path.join(model_dir, "info.json")
    if os.path.isfile(info):
        with open(info, encoding="utf-8") as f:
            step = json.load(f).get("step")
        about.steps = [int(step)] if step is not None else []
    source = SE_SOURCES.get(cfg.get("method"), "init_from")
    base = options.get(source) and _from(cwd, str(options[source]))
    if base and os.path.isdir(base) and os.path.abspath(base) not in seen:
        about.merge(describe_experiment(base, tuple(seen) + (os.path.abspath(exp_dir),)))
    return about


def _enhancer_parts(words):
    """(kind, main path, teacher predictor path, after path) of an enhancer given as
    ``sebench enhance`` words (``--robust-q Q --after M``, a spec string or a model)."""
    from sebench.enhance.factory import parse_spec
    if words[:1] == ["--robust-q"] and len(words) > 1:
        after = words[words.index("--after") + 1] if "--after" in words[:-1] else None
        return "robust_q", None, words[1], after
    spec = parse_spec(words[0]) if words else {"kind": "?", "source": ""}
    if spec["kind"] == "robust_q":
        return "robust_q", None, spec["source"], spec.get("after")
    return spec["kind"], spec["source"], None, None


def describe_enhancer(words):
    """An About for a recipe row that is an enhancer spec rather than one trained model."""
    kind, path, q_path, after = _enhancer_parts(words)
    if kind == "model":
        return describe_experiment(path)
    if kind == "classical":
        name = os.path.splitext(os.path.basename(path))[0]
        return About(model=f"classical {name}", params=0)
    if kind == "robust_q":
        about = describe_experiment(q_path)       # the predictor it enhances with
        about.teacher, about.teacher_path = _predictor_teacher(q_path)
        about.model = f"robust-Q ({about.model})"
        if after:
            base = describe_experiment(after)
            about.model = f"{base.model} + {about.model}"
            about.params = (base.params or 0) + (about.params or 0)
            about.merge(base)
        return about
    if kind == "pretrained":      # weights trained elsewhere, on data we never see
        return About(model=PRETRAINED_MODELS.get(path, path), teacher="pretrained")
    return About(model=kind, known=False)


def _expand(text, exp_root, system):
    """Recipe placeholders that locate experiments and configs ({exp:NAME}, {conf:FILE})."""
    from sebench.recipe.systems import PLACEHOLDER

    def sub(match):
        key, arg = match.group(1), match.group(2)
        if key == "exp":
            return os.path.join(exp_root, arg) if arg else exp_root
        if key == "self":
            return os.path.join(exp_root, system)
        if key == "conf" and arg:
            return os.path.join(exp_root, "conf", arg)
        return match.group(0)
    return PLACEHOLDER.sub(sub, text)


def describe(system, exp_root, recipe=None, override=None):
    """The About of one row: ``system``'s experiment below ``exp_root``, its recipe entry
    (``recipe``: a sebench.recipe.systems.Recipe or None) and the ``override`` mapping."""
    entry = recipe.systems.get(system) if recipe is not None else None
    from sebench.recipe.systems import INPUT
    if entry is not None and entry.enhance == INPUT:
        about = About(model="–", input=True)
    elif entry is not None and entry.enhance and entry.enhance != "{self}":
        about = describe_enhancer(shlex.split(_expand(entry.enhance, exp_root, system)))
    else:
        about = describe_experiment(_first_run(os.path.join(exp_root, system)))
    return apply_override(about, override or {})


def _first_run(exp_dir):
    """A repeated system's first seed's experiment (exp/<system>/seed<N>/), else exp_dir."""
    if os.path.isfile(os.path.join(exp_dir, "config.yaml")) or not os.path.isdir(exp_dir):
        return exp_dir
    seeds = [d for d in os.listdir(exp_dir) if d.startswith("seed") and d[4:].isdigit()]
    return os.path.join(exp_dir, min(seeds, key=lambda d: int(d[4:]))) if seeds else exp_dir


def check_override(spec, where):
    from sebench.utils.schema import check_mapping
    spec = check_mapping(spec or {}, where, ABOUT_KEYS)
    if "data" in spec and spec["data"] not in DATA_KINDS:
        raise ConfigError(f"{where}.data: one of {', '.join(DATA_KINDS)}, got {spec['data']!r}")
    return spec


def apply_override(about, spec):
    for key, value in spec.items():
        if key == "teacher":
            about.teacher, about.teacher_path = str(value), None
        elif key == "steps":
            about.steps = [value]
        elif key == "sets":
            about.sets = [str(v) for v in (value if isinstance(value, list) else [value])]
        else:
            setattr(about, key, value)
    about.known = about.known or bool(spec)
    return about


def teacher_name(teacher, names=None):
    """How a teacher id reads in the table (``names``: the policy's display names win)."""
    return (names or {}).get(teacher) or TEACHER_NAMES.get(teacher, teacher)

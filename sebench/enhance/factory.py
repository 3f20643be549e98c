"""What `sebench enhance` runs, built from one spec string (or dict).

Spec syntax: ``KIND:SOURCE[,key=value]...``; a bare path means ``model:PATH``.

- ``model:PATH``: a trained model (experiment dir, model dir or packed .zip) of an enhancing
  kind (se, composite, classical)
- ``robust_q:QP_PATH[,after=PATH][,steps=20][,lr=0.1][,step=normalized|plain][,target=X]``:
  Algorithm 1 with a (robust) quality predictor alone, optionally after another model
- ``composite:NAME,PART=PATH,...``: ``COMPOSITES[NAME]`` around trained models (e.g. paper
  003's D_c(E_m(.)) from two experiments)
- ``classical:NAME[,key=value]...``: a weightless enhancer of ``CLASSICAL`` (no model dir);
  ``classical:FILE.yaml[,key=value]...`` reads ``{name: NAME, ...options}`` from a preset
  (e.g. ``classical:conf/enhance/specsub.yaml,over_subtraction=3``)
- ``pretrained:NAME[,key=value]...`` (or the bare name, e.g. ``dfn3``): a reference
  enhancer with its weights in an optional package (``PRETRAINED``: dfn3, rnnoise;
  ``make references`` installs them)

Values are read as YAML scalars (``steps=20`` is an int). Every builder returns an
``nn.Module`` with ``fs`` whose forward maps ``(batch, samples)`` to ``{"wave": ...}``.
"""
import os

from sebench.config import parse_value
from sebench.errors import ConfigError
from sebench.utils.registry import Registry, check_kwargs

ENHANCERS = Registry("enhancer kind", {
    "model": "sebench.enhance.factory:model_enhancer",
    "robust_q": "sebench.enhance.factory:robust_q_enhancer",
    "composite": "sebench.enhance.factory:composite_enhancer",
    "classical": "sebench.enhance.factory:classical_enhancer",
    "pretrained": "sebench.enhance.factory:pretrained_enhancer",
})


def parse_spec(spec):
    """``"robust_q:exp/q,after=exp/sup"`` -> ``{"kind": "robust_q", "source": "exp/q",
    "after": "exp/sup"}``; a dict is returned as a copy."""
    if isinstance(spec, dict):
        return dict(spec)
    spec = os.fspath(spec)
    head, sep, rest = spec.partition(":")
    if not sep or head not in ENHANCERS or os.path.exists(spec):
        from sebench.enhance.pretrained import PRETRAINED
        if spec in PRETRAINED and not os.path.exists(spec):   # `sebench enhance dfn3 ...`
            return {"kind": "pretrained", "source": spec}
        return {"kind": "model", "source": spec}
    source, *fields = rest.split(",")
    out = {"kind": head, "source": source}
    for field in fields:
        key, eq, value = field.partition("=")
        if not eq or not key:
            raise ConfigError(f"enhancer {spec!r}: expected key=value after the source, got {field!r}")
        out[key] = parse_value(value)
    return out


def spec_string(spec):
    """The inverse of ``parse_spec`` (for re-invoking ``sebench enhance`` in jobs)."""
    spec = parse_spec(spec)
    kind, source = spec.pop("kind"), spec.pop("source")
    return ",".join([f"{kind}:{source}"] + [f"{k}={v}" for k, v in spec.items() if v is not None])


def build_enhancer(spec, device="cpu"):
    spec = parse_spec(spec)
    kind, source = spec.pop("kind"), spec.pop("source")
    builder = ENHANCERS.get(kind)
    check_kwargs(builder, dict(spec, source=source, device=device), f"enhancer {kind}")
    return builder(source, device, **spec)


def check_enhancer(spec):
    """Fail early (before sharding) on an unknown kind, option or missing model path."""
    from sebench.models.store import resolve_model_dir
    spec = parse_spec(spec)
    kind, source = spec.pop("kind"), spec.pop("source")
    builder = ENHANCERS.get(kind)
    if kind == "composite":
        from sebench.models.composite import COMPOSITES
        COMPOSITES.get(source)
        paths = list(spec.values())
    elif kind == "classical":
        from sebench.models.classical import CLASSICAL
        name, options = classical_options(source, spec)
        check_kwargs(CLASSICAL.get(name), options, f"classical enhancer {name}")
        paths = []
    elif kind == "pretrained":
        from sebench.enhance.pretrained import PRETRAINED, check_installed
        check_installed(source)
        check_kwargs(PRETRAINED.get(source), spec, f"pretrained enhancer {source}")
        paths = []
    else:
        check_kwargs(builder, dict(spec, source=source, device="cpu"), f"enhancer {kind}")
        paths = [source] + ([spec["after"]] if spec.get("after") else [])
    for path in paths:
        resolve_model_dir(path)


def needs_reference(spec):
    """Whether the enhancer reads the clean reference too (the oracle masks)."""
    spec = parse_spec(spec)
    if spec.pop("kind") != "classical":
        return False
    from sebench.models.classical import CLASSICAL
    name, _ = classical_options(spec.pop("source"), spec)
    return bool(getattr(CLASSICAL.get(name), "needs_reference", False))


def model_enhancer(source, device):
    from sebench.models.store import ENHANCING_KINDS, load_model
    return load_model(source, device, kinds=ENHANCING_KINDS)[0]


def robust_q_enhancer(source, device, after=None, steps=20, lr=0.1, step="normalized",
                      target=None):
    from sebench.models.store import load_model
    from sebench.quality.robust_enhancer import RobustQEnhancer
    if step not in ("normalized", "plain"):
        raise ConfigError(f"robust_q step must be normalized or plain, got {step!r}")
    q = load_model(source, device, kinds={"predictor"})[0]
    after = build_enhancer(after, device) if after else None
    return RobustQEnhancer(q, steps, lr, target, after, step).to(device).eval()


def composite_enhancer(source, device, **parts):
    """Parts are trained models of any kind (a VAE's encoder is no enhancer on its own)."""
    from sebench.models.composite import COMPOSITES
    from sebench.models.store import load_model
    if not parts:
        raise ConfigError(f"composite:{source} needs its parts: composite:{source},PART=MODEL,...")
    built = {p: load_model(str(path), device)[0] for p, path in parts.items()}
    return COMPOSITES.build(source, parts=built).to(device).eval()


def classical_options(source, options):
    """(name, options) of ``classical:NAME`` or ``classical:FILE.yaml`` (its ``name`` and
    options, with ``options`` from the spec string winning)."""
    if not source.endswith((".yaml", ".yml")):
        return source, dict(options)
    from sebench.config import load_yaml
    preset = {k: v for k, v in load_yaml(source).items() if k != "kind"}
    if "name" not in preset:
        raise ConfigError(f"{source}: no `name:` (the classical enhancer, e.g. specsub)")
    return preset.pop("name"), dict(preset, **options)


def classical_enhancer(source, device, **options):
    from sebench.models.classical import CLASSICAL
    name, options = classical_options(source, options)
    return CLASSICAL.build(name, **options).to(device).eval()


def pretrained_enhancer(source, device, **options):
    from sebench.enhance.pretrained import PRETRAINED, check_installed
    check_installed(source)
    return PRETRAINED.build(source, **options).eval()


def enhancer_provenance(enhancer):
    """What an output folder records about the enhancer beyond its spec: the package
    version and model hash of a pretrained one (None for the others, whose model dirs
    carry their own config)."""
    return getattr(enhancer, "provenance", None)

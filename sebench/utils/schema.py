"""Checks for small declarative YAML files (recipe.yaml, eval.yaml): unknown keys are errors."""
from sebench.errors import ConfigError


def check_mapping(value, where, known=None, required=()):
    """``value`` must be a mapping whose keys are all in ``known`` and include ``required``."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    if known is not None:
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown key '{unknown[0]}' "
                              f"(known: {', '.join(sorted(known))})")
    missing = [k for k in required if k not in value]
    if missing:
        raise ConfigError(f"{where}: missing key '{missing[0]}'")
    return value


def as_list(value, where):
    """A list of strings from a YAML list or a comma/space separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.replace(",", " ").split() if v]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise ConfigError(f"{where}: expected a list of names, got {value!r}")

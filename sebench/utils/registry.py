"""Name -> implementation tables for YAML names (models, predictors, methods, losses, kinds...).

Entries are ``"module:attribute"`` strings imported on first use, so listing what exists
costs nothing and a registry never imports heavy code; an object may be registered directly
(tests, plug-ins). An unknown name is a one-line ConfigError listing the known ones.
"""
import importlib
import inspect

from sebench.errors import ConfigError


class Registry:
    def __init__(self, what, entries=None):
        self.what = what                  # "model", "training method", ... (for messages)
        self._entries = dict(entries or {})

    def register(self, name, target):
        """``target``: "module:attribute" or the object itself."""
        self._entries[name] = target
        return target

    def unregister(self, name):
        self._entries.pop(name, None)

    def get(self, name):
        if name not in self._entries:
            raise ConfigError(f"unknown {self.what} {name!r}; known: {', '.join(self.names())}")
        target = self._entries[name]
        if isinstance(target, str):
            module, attr = target.split(":")
            target = getattr(importlib.import_module(module), attr)
        return target

    def build(self, name, **kwargs):
        """``get(name)(**kwargs)``, with keyword names checked against the signature first, so
        a misspelt option is a ConfigError while a TypeError inside the constructor stays a bug."""
        target = self.get(name)
        check_kwargs(target, kwargs, f"{self.what} {name}")
        return target(**kwargs)

    def names(self):
        return sorted(self._entries)

    def __contains__(self, name):
        return name in self._entries

    def __iter__(self):
        return iter(self.names())

    def __len__(self):
        return len(self._entries)


def check_kwargs(target, kwargs, what):
    """ConfigError naming the keyword(s) ``target`` does not accept (``**kw`` accepts all,
    as far as this signature tells; a class's own ``__init__`` chain is followed)."""
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):   # builtins without a signature: let the call decide
        return
    params = sig.parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        if inspect.isclass(target):
            known = set()
            for klass in target.__mro__:
                init = klass.__dict__.get("__init__")
                if init is None:
                    continue
                ps = list(inspect.signature(init).parameters.values())[1:]
                known |= {p.name for p in ps if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
                if not any(p.kind == p.VAR_KEYWORD for p in ps):
                    break
            else:
                return
            unknown = sorted(set(kwargs) - known)
            if unknown:
                raise ConfigError(f"{what}: unknown option(s) {', '.join(unknown)} "
                                  f"(known: {', '.join(sorted(known))})")
        return
    known = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ConfigError(f"{what}: unknown option(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(known))})")
    missing = [p.name for p in params if p.default is p.empty and p.name not in kwargs
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if missing:
        raise ConfigError(f"{what}: missing option(s) {', '.join(missing)}")

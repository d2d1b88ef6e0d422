"""Plugin base class and discovery, shared by simulators/ and methods/.

A plugin is a class with a ``name`` and a dict of typed ``defaults``. Plugins are
found by importing every ``*.py`` file of their folder whose name does not start with
``_`` (so ``_template.py`` and ``base.py``'s helpers stay out), which is why plugin
modules must import heavy libraries (torch, cdt, causal-learn) inside their methods.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from pathlib import Path
from typing import Any


class PluginError(ValueError):
    """A plugin was named or parameterised wrongly; the message names what was wrong."""


class Plugin:
    """Base of simulators and methods.

    Subclasses set ``name`` (the name used in the config) and ``defaults``: every
    parameter the plugin takes, with its default value; the default's type is the
    parameter's type (an int default accepts only ints, a float default accepts ints
    too, a ``None`` default accepts anything). ``choices`` maps a parameter to its
    allowed values. Override ``check_params`` for range checks; it returns a list of
    problems, each naming the parameter.
    """

    name: str = ""
    defaults: dict[str, Any] = {}
    choices: dict[str, tuple] = {}

    def __init__(self, **params: Any):
        problems = self.param_problems(params)
        if problems:
            raise PluginError(f"{self.kind()} '{self.name}': " + "; ".join(problems))
        self.params: dict[str, Any] = {**self.defaults, **params}

    @classmethod
    def kind(cls) -> str:
        return "plugin"

    @classmethod
    def param_problems(cls, params: dict[str, Any]) -> list[str]:
        """Every problem with ``params`` (unknown names, wrong types, bad values)."""
        problems = []
        for key, value in params.items():
            if key not in cls.defaults:
                known = ", ".join(sorted(cls.defaults)) or "none"
                problems.append(f"unknown parameter '{key}' (known: {known})")
                continue
            problem = _type_problem(key, value, cls.defaults[key])
            if problem:
                problems.append(problem)
            elif key in cls.choices and value not in cls.choices[key]:
                problems.append(f"parameter '{key}' = {value!r} is not one of {list(cls.choices[key])}")
        if problems:
            return problems
        return cls.check_params({**cls.defaults, **params})

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        """Range checks on the full parameter dict; override in plugins."""
        return []


def _type_problem(key: str, value: Any, default: Any) -> str | None:
    if default is None:
        return None
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, (list, tuple))
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    else:
        ok = isinstance(value, type(default))
    if ok:
        return None
    return (f"parameter '{key}' = {value!r} has type {type(value).__name__}, "
            f"expected {type(default).__name__}")


EXTRA_DIRS_ENV = "DAGBENCH_PLUGIN_DIRS"


def discover(package: str, base: type) -> dict[str, type]:
    """Import every public module of ``package`` and return {name: class} for the
    concrete subclasses of ``base`` defined there.

    Folders listed in the environment variable DAGBENCH_PLUGIN_DIRS (separated by
    ``os.pathsep``) are scanned too: ``<dir>/<package>/*.py``, so plugins can live
    outside the repository (the fault-injection tests use this). A module that fails
    to import raises a PluginError naming the file.
    """
    pkg = importlib.import_module(package)
    files = [(Path(pkg.__path__[0]) / f"{info.name}.py", f"{package}.{info.name}")
             for info in pkgutil.iter_modules(pkg.__path__)]
    for extra in filter(None, os.environ.get(EXTRA_DIRS_ENV, "").split(os.pathsep)):
        files += [(f, f"dagbench_extra.{package}.{f.stem}") for f in Path(extra, package).glob("*.py")]
    found: dict[str, type] = {}
    for path, module_name in sorted(files, key=lambda f: f[0].name):
        if path.name.startswith("_") or path.stem == "base":
            continue
        try:
            module = _import(path, module_name)
        except Exception as exc:  # report the file, not a deep traceback
            raise PluginError(f"could not import plugin file {path}: "
                              f"{type(exc).__name__}: {exc}") from exc
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, base) and obj is not base
                    and obj.__module__ == module_name and obj.name):
                if obj.name in found:
                    raise PluginError(f"two {package} plugins are named '{obj.name}': "
                                      f"{found[obj.name].__module__} and {module_name}")
                found[obj.name] = obj
    return found


def _import(path: Path, module_name: str):
    if module_name in sys.modules:
        return sys.modules[module_name]
    if not module_name.startswith("dagbench_extra."):
        return importlib.import_module(module_name)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def lookup(registry: dict[str, type], name: str, kind: str) -> type:
    """The plugin class called ``name``, or a PluginError listing the known names."""
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise PluginError(f"unknown {kind} '{name}' (known: {known})") from None

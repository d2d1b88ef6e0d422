"""Plugin base class and discovery, shared by simulators/ and methods/.

A plugin is a class with a ``name`` and a dict of typed ``defaults``. Plugins are
found by importing every ``*.py`` file of their folder, except ``base.py`` and files
whose name starts with ``_`` (so ``_template.py`` stays out), which is why plugin
modules must import heavy libraries (torch, cdt, causal-learn) inside their methods.
Folders named in DAGBENCH_PLUGIN_DIRS add ``<dir>/methods/*.py`` and
``<dir>/simulators/*.py`` (``plugin_dirs``); plugin names must be unique across all
of them (``name_clashes``). ``python -m dagbench list`` shows what is found.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import sys
from dataclasses import dataclass, field
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
#: the sub-folders a DAGBENCH_PLUGIN_DIRS folder may hold, one per plugin kind
PLUGIN_PACKAGES = ("methods", "simulators")


def plugin_dirs() -> list[Path]:
    """The folders named in DAGBENCH_PLUGIN_DIRS, in order.

    Several folders are separated by ``os.pathsep`` (``:`` on Linux and macOS, ``;`` on
    Windows), as in PATH; empty entries are ignored, a relative folder is read from the
    current folder (the workflow's folder for Snakemake jobs). Raises a PluginError for
    an entry that is not a folder, or one with neither a ``methods/`` nor a
    ``simulators/`` sub-folder (the usual slip: naming ``/my/plugins/methods`` itself),
    so that a typo stops the run instead of silently leaving the plugins out.
    """
    folders, problems = plugin_dirs_checked()
    if problems:
        raise PluginError("; ".join(problems))
    return folders


def plugin_dirs_checked() -> tuple[list[Path], list[str]]:
    """(the usable DAGBENCH_PLUGIN_DIRS folders, a message for each unusable entry);
    see ``plugin_dirs``."""
    folders: list[Path] = []
    problems: list[str] = []
    for entry in os.environ.get(EXTRA_DIRS_ENV, "").split(os.pathsep):
        if not entry.strip():
            continue
        folder = Path(entry).expanduser()
        if not folder.is_dir():
            where = "" if folder.is_absolute() else f" (relative to the current folder {os.getcwd()})"
            problems.append(f"{EXTRA_DIRS_ENV} names {entry!r}, which is not a folder{where}")
        elif not any((folder / sub).is_dir() for sub in PLUGIN_PACKAGES):
            hint = ""
            if folder.name in PLUGIN_PACKAGES:
                hint = f"; name the folder above it instead ({folder.parent})"
            elif any(folder.glob("*.py")):
                hint = (f"; put method files in {folder / 'methods'}/ and simulator files in "
                        f"{folder / 'simulators'}/")
            problems.append(f"{EXTRA_DIRS_ENV} names {folder}, which has no methods/ or simulators/ "
                            f"sub-folder{hint}")
        else:
            folders.append(folder)
    return folders, problems


@dataclass
class PluginFile:
    """One scanned plugin file: the plugin classes it defines, or why it could not be imported."""

    path: Path
    origin: str                      # "built-in", or "DAGBENCH_PLUGIN_DIRS <folder>"
    classes: list[type] = field(default_factory=list)
    error: str | None = None         # "ExceptionType: message" when the import failed
    exc: BaseException | None = field(default=None, repr=False)


def scan(package: str, base: type, dirs: list[Path] | None = None) -> list[PluginFile]:
    """Every plugin file of ``package``, imported: first the package's own folder
    (``methods/``, ``simulators/``: "built-in"), then ``<dir>/<package>/`` of each
    DAGBENCH_PLUGIN_DIRS folder in order, each folder's files in name order. Files whose
    name starts with ``_`` (``_template.py``) and ``base.py`` are not plugin files.

    A file that fails to import is returned with its error instead of raising, so that
    a listing can show it; only a bad DAGBENCH_PLUGIN_DIRS entry raises (PluginError).
    The same file reached twice (a folder listed twice) is scanned once. ``dirs``
    replaces the DAGBENCH_PLUGIN_DIRS folders.
    """
    pkg = importlib.import_module(package)
    own = Path(pkg.__path__[0])
    files = [(own / f"{info.name}.py", f"{package}.{info.name}", "built-in")
             for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name)]
    for folder in plugin_dirs() if dirs is None else dirs:
        # a module name per folder, so that two folders may hold files of the same name
        tag = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:10]
        files += [(f, f"dagbench_extra.{package}.d{tag}.{f.stem}", f"{EXTRA_DIRS_ENV} {folder}")
                  for f in sorted(Path(folder, package).glob("*.py"))]
    out: list[PluginFile] = []
    seen: set[Path] = set()
    for path, module_name, origin in files:
        if path.name.startswith("_") or path.stem == "base" or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        record = PluginFile(path, origin)
        try:
            module = _import(path, module_name)
        except Exception as exc:  # report the file and the error, not a deep traceback
            record.error, record.exc = f"{type(exc).__name__}: {exc}", exc
        else:
            record.classes = [obj for obj in vars(module).values()
                              if isinstance(obj, type) and issubclass(obj, base) and obj is not base
                              and obj.__module__ == module_name and obj.name]
        out.append(record)
    return out


def name_clashes(files: list[PluginFile], kind: str) -> list[str]:
    """A message for every plugin name that two classes share (among ``files``, as
    ``scan`` returns them), naming both files. Names are never overridden: a plugin in a
    DAGBENCH_PLUGIN_DIRS folder with a built-in's name is an error, not a replacement."""
    first: dict[str, tuple[type, PluginFile]] = {}
    out = []
    for f in files:
        for cls in f.classes:
            if cls.name not in first:
                first[cls.name] = (cls, f)
                continue
            other_cls, other = first[cls.name]
            out.append(f"two {kind} plugins are named '{cls.name}': class {other_cls.__qualname__} in "
                       f"{other.path} ({other.origin}) and class {cls.__qualname__} in {f.path} "
                       f"({f.origin}); names must be unique (a plugin cannot replace another), so "
                       f"give one of them another `name`")
    return out


def discover(package: str, base: type) -> dict[str, type]:
    """{name: class} of the concrete subclasses of ``base`` defined in the plugin files
    of ``package`` and of ``<dir>/<package>/`` for every folder in DAGBENCH_PLUGIN_DIRS
    (see ``plugin_dirs`` and ``scan``), so plugins can live outside the repository (the
    fault-injection tests use this).

    Raises a PluginError naming the file when a plugin file fails to import, naming
    both files when two plugins have the same name (a plugin-folder plugin cannot
    shadow or replace a built-in one: results would be labelled with a name whose
    meaning depends on the environment), and for a DAGBENCH_PLUGIN_DIRS entry that is
    not a plugin folder.
    """
    files = scan(package, base)
    for f in files:
        if f.error is not None:
            raise PluginError(f"could not import plugin file {f.path} ({f.origin}): {f.error}") from f.exc
    clashes = name_clashes(files, base.kind())
    if clashes:
        raise PluginError("; ".join(clashes))
    return {cls.name: cls for f in files for cls in f.classes}


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


# ---------------------------------------------------------------- descriptions (for listings)

_SENTENCE_END = re.compile(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bcf)(?<!\bvs)\.\s+(?=[A-Z(])")


def summary(cls: type, width: int = 100) -> str:
    """One line saying what plugin ``cls`` is: the first sentence of its class docstring
    (its own, not a base class's), else of its module's docstring, cut to ``width``
    characters; "" when neither has one."""
    doc = cls.__dict__.get("__doc__") or getattr(sys.modules.get(cls.__module__), "__doc__", None) or ""
    paragraph = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split()).replace("``", "")
    first = _SENTENCE_END.split(paragraph, maxsplit=1)[0].rstrip(".:;, ")
    if len(first) > width:
        first = first[:width - 1].rsplit(" ", 1)[0].rstrip(".:;, ") + " …"
    return first + ("." if first and not first.endswith("…") else "")


def param_lines(cls: type) -> list[str]:
    """One line per parameter of plugin ``cls``, from its ``defaults`` and ``choices``
    (the declarations the config check uses): ``name: type = default``, plus the
    allowed values where there are choices."""
    out = []
    for key, default in cls.defaults.items():
        kind = "any" if default is None else type(default).__name__
        line = f"{key}: {kind} = {default!r}"
        if key in cls.choices:
            line += "  (one of " + ", ".join(repr(c) for c in cls.choices[key]) + ")"
        out.append(line)
    return out


def find(package: str, base: type, name: str) -> type:
    """The plugin class of ``package`` called ``name``, as
    ``lookup(discover(package, base), name, base.kind())``, but without importing every
    plugin file when it need not: when no DAGBENCH_PLUGIN_DIRS folder is set and the
    built-in file ``<package>/<name>.py`` defines a plugin of that name (``methods/pc.py``
    defines ``pc``), only that file is imported. A job names one plugin; importing all
    the others cost it 20-30 ms. Anything else (a plugin in another file, such as
    ``golem_ev`` in ``golem.py``, a plugin folder, an unknown name, a file that fails to
    import) goes through ``discover``, with its errors. What the shortcut does not check
    (another built-in file that fails to import or defines the same name) the
    workflow's config check reports before any job runs (``dagbench.config.load_plan``)."""
    if (not os.environ.get(EXTRA_DIRS_ENV, "").strip() and re.fullmatch(r"[A-Za-z]\w*", name)
            and name != "base"):
        pkg = importlib.import_module(package)
        if Path(pkg.__path__[0], f"{name}.py").is_file():
            try:
                module = importlib.import_module(f"{package}.{name}")
            except Exception:  # noqa: BLE001 - discover below reports it, naming the file
                module = None
            found = [obj for obj in vars(module).values()
                     if isinstance(obj, type) and issubclass(obj, base) and obj is not base
                     and obj.__module__ == module.__name__ and obj.name == name] if module else []
            if len(found) == 1:
                return found[0]
    return lookup(discover(package, base), name, base.kind())


def lookup(registry: dict[str, type], name: str, kind: str) -> type:
    """The plugin class called ``name``, or a PluginError listing the known names."""
    try:
        return registry[name]
    except KeyError:
        known = ", ".join(sorted(registry))
        raise PluginError(f"unknown {kind} '{name}' (known: {known})") from None

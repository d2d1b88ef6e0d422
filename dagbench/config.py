"""Config validation and grid expansion.

``load_plan(config)`` checks the whole config (structure against config/schema.yaml,
plugin names, parameter names, types and ranges, duplicate ids) and raises one
ConfigError listing every problem with its key path, before any job runs. Then each
setting and method entry is expanded: a parameter given as a list becomes a grid axis,
and each grid point gets a readable id (``linear[d=10]``, ``dibs_bge[steps=500]``, or
the entry's own ``id`` template such as ``er{edges_per_node}-lin-d{d}``). Ids name
output files, so they are restricted to a safe pattern.
"""
from __future__ import annotations

import fnmatch
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dagbench.plugins import PluginError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "config" / "schema.yaml"
#: what an id may be, matched whole (``fullmatch``: ``$`` would let a trailing newline through)
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.,=+\-\[\]]{0,119}")
DEFAULT_TIMEOUT_S = 1800.0


class ConfigError(ValueError):
    """The config is wrong; ``problems`` lists every problem with its key path."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid config:\n" + "\n".join(f"  - {p}" for p in problems))


def matches_any(ident: str, patterns: list[str]) -> bool:
    """Whether ``ident`` matches one of the shell-style patterns (``*``, ``?``; case-sensitive)."""
    return any(fnmatch.fnmatchcase(ident, p) for p in patterns)


@dataclass(frozen=True)
class SettingSpec:
    """One expanded setting: a simulator with all its parameters resolved."""
    id: str
    simulator: str
    params: dict[str, Any] = field(hash=False)
    #: the prior of the exact posterior the fits are scored against (``graph_prior``,
    #: ``edges_per_node``), or None: no posterior-quality scores
    exact_posterior: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class MethodSpec:
    """One expanded method variant, with its resource limits."""
    id: str
    method: str
    params: dict[str, Any] = field(hash=False)
    bootstrap: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S
    mem_mb: int = 0
    threads: int = 1
    run_on: list[str] | None = field(default=None, hash=False)  # setting-id patterns; None: all

    def runs_on(self, setting_id: str) -> bool:
        """Whether this method is fitted on the setting (``run_on`` patterns, fnmatch style)."""
        return self.run_on is None or matches_any(setting_id, self.run_on)


@dataclass(frozen=True)
class StatisticsSpec:
    """The config's ``statistics`` block, defaults filled in: how the summary states the
    spread over seeds and how methods are compared (evaluation/statistics.py)."""
    #: summary cells: ``se`` (mean ± standard error) or ``bootstrap_ci`` (mean [lo, hi])
    spread: str = "se"
    #: level of the bootstrap confidence intervals
    confidence: float = 0.95
    #: resamples of the seeds behind each bootstrap interval
    bootstrap_resamples: int = 1000
    #: significance level of the paired tests (after Holm's correction), Friedman and Nemenyi
    alpha: float = 0.05


@dataclass(frozen=True)
class ClusterSpec:
    """The config's ``cluster`` block, defaults filled in: what each job asks a cluster
    scheduler for (Snakemake's ``runtime`` [min], ``mem_mb`` [MB], ``slurm_partition``,
    ``slurm_account`` resources; a local run ignores them). A fit's job gets its method's
    ``timeout_s`` plus ``margin_min`` and, when the method sets ``mem_mb``, that plus
    ``margin_mb``: the limits inside the fit still apply, so the scheduler never kills a
    fit that dagbench would have recorded as a timeout or failure."""
    #: SLURM partition ('' = not given: the profile's default-resources or the cluster's)
    partition: str = ""
    #: SLURM account ('' = not given: the profile's, else the executor guesses)
    account: str = ""
    #: MB of a fit without a method mem_mb, and of every other job
    mem_mb: int = 4000
    #: minutes of the jobs that fit no method (simulate, evaluate, tables, figures)
    runtime_min: int = 15
    #: minutes added to a fit's timeout: two Snakemake start-ups, imports, loading, saving
    margin_min: int = 5
    #: MB added to a method's mem_mb: the interpreter and torch outside the fit's limit
    margin_mb: int = 1024

    def scheduler(self) -> dict[str, str]:
        """The slurm_partition / slurm_account resources that are set (none when empty)."""
        return {key: value for key, value in (("slurm_partition", self.partition),
                                              ("slurm_account", self.account)) if value}

    def fit_runtime_min(self, method: "MethodSpec") -> int:
        """Wall-time limit [min] of the fit job of ``method``."""
        return math.ceil(method.timeout_s / 60) + self.margin_min

    def fit_mem_mb(self, method: "MethodSpec") -> int:
        """Memory [MB] of the fit job of ``method``."""
        return method.mem_mb + self.margin_mb if method.mem_mb else self.mem_mb


@dataclass
class Plan:
    """Everything the workflow runs: seeds x settings x methods (a method's ``run_on``
    can restrict it to some settings)."""
    seeds: list[int]
    settings: dict[str, SettingSpec]
    methods: dict[str, MethodSpec]
    results: str = "results"
    highlight: list[str] = field(default_factory=list)
    statistics: StatisticsSpec = field(default_factory=StatisticsSpec)
    cluster: ClusterSpec = field(default_factory=ClusterSpec)

    def jobs(self) -> list[tuple[str, int, str]]:
        """Every (setting id, seed, method id) to fit."""
        return [(s, k, m) for s in self.settings for k in self.seeds for m, spec in self.methods.items()
                if spec.runs_on(s)]


def load_yaml(path: str | Path) -> dict:
    """Read a YAML config as data (safe loading: no tags, no code)."""
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of keys to values"])
    return data


def schema_problems(config: dict) -> list[str]:
    import jsonschema

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    # JSON Schema counts 3.0 as an integer; a count or a seed given as 3.0 is refused
    # here by name rather than crash range() later (bools are not integers either)
    strict = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool))
    validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, type_checker=strict)(schema)
    problems = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = _key_path(err.absolute_path) or "config"
        if err.validator == "additionalProperties":
            allowed = ", ".join(sorted(err.schema.get("properties", {})))
            problems.append(f"{where}: {err.message} (allowed keys: {allowed})")
        elif err.validator in ("oneOf", "anyOf") and err.context:
            # say what is wrong with the closest alternative, not just "not valid under any"
            hint = f" ({err.schema['description'].strip()})" if err.schema.get("description") else ""
            fitting = [e for e in err.context if e.validator != "type" or e.relative_path]  # right-type branches
            if fitting:
                best = jsonschema.exceptions.best_match(fitting)
                inner = _key_path(list(err.absolute_path) + list(best.relative_path)) or where
                problems.append(f"{inner}: {best.message}{hint}")
            else:
                types = ", ".join(sorted({str(e.validator_value) for e in err.context}))
                problems.append(f"{where}: {err.instance!r} is not of an allowed type ({types}){hint}")
        else:
            problems.append(f"{where}: {err.message}")
    return problems


def _key_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def load_plan(config: dict) -> Plan:
    """Validate ``config`` and expand it; raises ConfigError listing every problem."""
    problems = schema_problems(config)
    if problems:  # structure first: the plugin checks below assume it
        raise ConfigError(problems)

    from methods.base import registry as method_registry
    from simulators.base import registry as simulator_registry

    try:
        sims, meths = simulator_registry(), method_registry()
    except PluginError as exc:
        raise ConfigError([str(exc)]) from None

    seeds = config["seeds"]
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if len(set(seeds)) != len(seeds):
        problems.append(f"seeds: duplicate seeds in {seeds}")

    settings: dict[str, SettingSpec] = {}
    for i, entry in enumerate(config["settings"]):
        where = f"settings[{i}]"
        for sid, params in _expand(entry, "simulator", sims, where, problems):
            if sid in settings:
                problems.append(f"{where}: duplicate setting id '{sid}' (give one of the entries another 'id')")
            settings[sid] = SettingSpec(sid, entry["simulator"], params,
                                        exact_posterior=exact_posterior_option(entry.get("exact_posterior")))

    defaults = {k: config[k] for k in ("timeout_s", "mem_mb", "threads") if k in config}
    methods: dict[str, MethodSpec] = {}
    for i, entry in enumerate(config["methods"]):
        where = f"methods[{i}]"
        for mid, params in _expand(entry, "method", meths, where, problems):
            if mid in methods:
                problems.append(f"{where}: duplicate method id '{mid}' (give one of the entries another 'id')")
            limits = {**defaults, **{k: entry[k] for k in ("timeout_s", "mem_mb", "threads") if k in entry}}
            methods[mid] = MethodSpec(mid, entry["method"], params, bootstrap=entry.get("bootstrap", 0),
                                      run_on=entry.get("run_on"), **limits)
        for pattern in entry.get("run_on") or []:
            if not any(matches_any(sid, [pattern]) for sid in settings):
                problems.append(f"{where}.run_on: '{pattern}' matches no setting id "
                                f"(ids: {', '.join(settings) or 'none'})")
    settings = _select(settings, config.get("only_settings"), "only_settings", "setting", problems)
    methods = _select(methods, config.get("only_methods"), "only_methods", "method", problems)
    highlight = config.get("highlight", [])
    for name in highlight:
        if name not in meths:
            problems.append(f"highlight: unknown method '{name}' (known: {', '.join(sorted(meths))})")
    if problems:
        raise ConfigError(problems)
    return Plan(seeds=seeds, settings=settings, methods=methods,
                results=config.get("results", "results"), highlight=highlight,
                statistics=StatisticsSpec(**config.get("statistics", {})),
                cluster=ClusterSpec(**config.get("cluster", {})))


#: what ``exact_posterior: true`` in a setting means: the DiBS plugins' default prior
EXACT_POSTERIOR_DEFAULTS = {"graph_prior": "er", "edges_per_node": 2.0}


def exact_posterior_option(value) -> dict[str, Any] | None:
    """A setting's ``exact_posterior`` entry (false/absent, true, or a mapping with
    ``graph_prior`` and/or ``edges_per_node``; the schema checked its form) as the full
    prior, or None when off."""
    if not value:
        return None
    return {**EXACT_POSTERIOR_DEFAULTS, **(value if isinstance(value, dict) else {})}


def _select(specs: dict, patterns: list[str] | None, key: str, kind: str, problems: list[str]) -> dict:
    """The specs whose ids match one of ``patterns`` (fnmatch; None keeps all)."""
    if patterns is None:
        return specs
    patterns = [patterns] if isinstance(patterns, str) else patterns
    for p in patterns:
        if not any(matches_any(i, [p]) for i in specs):
            problems.append(f"{key}: '{p}' matches no {kind} id (ids: {', '.join(specs) or 'none'})")
    return {i: spec for i, spec in specs.items() if matches_any(i, patterns)}


def _expand(entry: dict, kind: str, registry: dict, where: str, problems: list[str]):
    """Yield (id, full params) for every grid point of one config entry."""
    name = entry[kind]
    if name not in registry:
        problems.append(f"{where}.{kind}: unknown {kind} '{name}' (known: {', '.join(sorted(registry))})")
        return
    cls = registry[name]
    given = entry.get("params") or {}
    axes = {k: v for k, v in given.items()
            if isinstance(v, list) and not isinstance(cls.defaults.get(k), (list, tuple))}
    for key, values in axes.items():
        if not values:
            problems.append(f"{where}.params.{key}: an empty list gives no grid points")
            return
    seen_problems = set()
    for combo in itertools.product(*axes.values()):
        params = {**given, **dict(zip(axes, combo))}
        found = cls.param_problems(params)
        for p in found:
            if p not in seen_problems:
                seen_problems.add(p)
                problems.append(f"{where} ({name}).params: {p}")
        if found:
            continue
        full = {**cls.defaults, **params}
        ident = _make_id(entry, name, full, dict(zip(axes, combo)), where, problems)
        if ident is not None:
            yield ident, full


def _make_id(entry, name, full, varying, where, problems) -> str | None:
    template = entry.get("id")
    if template is not None:
        try:
            ident = template.format(**full, bootstrap=entry.get("bootstrap", 0))
        except Exception as exc:  # KeyError, IndexError, ValueError, and "{d.x}", "{d[0]}" on a number
            problems.append(f"{where}.id: template {template!r} does not fit the parameters "
                            f"({type(exc).__name__}: {exc})")
            return None
        if varying and "{" not in template:
            problems.append(f"{where}.id: '{template}' names every grid point alike; "
                            f"use fields such as {{{next(iter(varying))}}}")
            return None
    else:
        ident = ("boot-" if entry.get("bootstrap") else "") + name
        if varying:
            ident += "[" + ",".join(f"{k}={_fmt(v)}" for k, v in varying.items()) + "]"
    if not SAFE_ID.fullmatch(ident):
        problems.append(f"{where}: id {ident!r} is not safe as a file name (letters, digits and "
                        "_ . , = + - [ ] only, starting with a letter or digit, at most 120 characters)")
        return None
    return ident


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)

"""Config validation and grid expansion (dagbench/config.py)."""
import copy
from pathlib import Path

import pytest

from dagbench.config import ConfigError, load_plan, load_yaml

ROOT = Path(__file__).resolve().parent.parent
BASE = {
    "seeds": 2,
    "settings": [{"simulator": "linear", "params": {"d": 5, "n": 50}}],
    "methods": [{"method": "pc", "params": {"alpha": 0.05}}, {"method": "empty"}],
}


def problems_of(config) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_plan(config)
    return info.value.problems


def test_default_config_is_valid_and_names_every_method():
    plan = load_plan(load_yaml(ROOT / "config" / "config.yaml"))
    assert plan.seeds == [0, 1, 2]
    big = [s for s in plan.settings.values() if s.params["d"] >= 10]
    assert len(big) >= 2
    # a small setting is there only to be scored against the exact posterior
    assert all(s.exact_posterior for s in plan.settings.values() if s.params["d"] < 10)
    from methods.base import registry
    used = {m.method for m in plan.methods.values()}
    assert used == set(registry()), "the default config must run every method in the repo"


def test_list_parameters_expand_into_a_grid_with_readable_ids():
    cfg = copy.deepcopy(BASE)
    cfg["settings"][0]["params"]["d"] = [5, 8]
    cfg["settings"][0]["id"] = "er-lin-d{d}"
    cfg["methods"][0]["params"]["alpha"] = [0.01, 0.05]
    plan = load_plan(cfg)
    assert list(plan.settings) == ["er-lin-d5", "er-lin-d8"]
    assert plan.settings["er-lin-d8"].params["d"] == 8
    assert list(plan.methods) == ["pc[alpha=0.01]", "pc[alpha=0.05]", "empty"]
    assert plan.methods["pc[alpha=0.01]"].params["alpha"] == 0.01


def test_run_on_restricts_a_method_to_matching_settings():
    cfg = copy.deepcopy(BASE)
    cfg["settings"][0]["params"]["d"] = [5, 8]
    cfg["settings"][0]["id"] = "lin-d{d}"
    cfg["methods"][0]["run_on"] = ["*-d8"]
    plan = load_plan(cfg)
    jobs = plan.jobs()
    assert ("lin-d8", 0, "pc") in jobs and ("lin-d5", 1, "empty") in jobs
    assert not any(s == "lin-d5" and m == "pc" for s, _, m in jobs)
    assert len(jobs) == 2 * (1 + 2)  # seeds x (pc on one setting + empty on both)
    cfg["methods"][0]["run_on"] = ["*-d9"]
    (problem,) = problems_of(cfg)
    assert "methods[0].run_on" in problem and "'*-d9' matches no setting" in problem and "lin-d5" in problem


def test_only_settings_and_only_methods_select_a_subset():
    cfg = copy.deepcopy(BASE)
    cfg["settings"][0]["params"]["graph"] = ["er", "sf"]
    cfg["settings"][0]["id"] = "{graph}-lin"
    cfg["only_settings"] = "er*"  # a single pattern, as --config only_settings=er* gives it
    cfg["only_methods"] = ["p?"]
    plan = load_plan(cfg)
    assert list(plan.settings) == ["er-lin"] and list(plan.methods) == ["pc"]
    cfg["only_methods"] = ["dibs*"]
    (problem,) = problems_of(cfg)
    assert problem.startswith("only_methods: 'dibs*' matches no method id") and "pc, empty" in problem


def test_bootstrap_gets_its_own_id_and_limits_inherit():
    cfg = copy.deepcopy(BASE)
    cfg["timeout_s"] = 30
    cfg["methods"].append({"method": "pc", "bootstrap": 5, "threads": 2})
    plan = load_plan(cfg)
    assert plan.methods["boot-pc"].bootstrap == 5
    assert plan.methods["boot-pc"].threads == 2 and plan.methods["boot-pc"].timeout_s == 30
    assert plan.methods["pc"].threads == 1


def test_every_problem_is_listed_with_its_key_path():
    cfg = copy.deepcopy(BASE)
    cfg["methods"].append({"method": "pcc"})                          # misspelt method
    cfg["methods"][0]["params"] = {"alpah": 0.05}                     # misspelt parameter
    cfg["settings"].append({"simulator": "linear", "params": {"d": "ten"}})  # wrong type
    cfg["settings"].append({"simulator": "nosuch"})                   # unknown simulator
    problems = problems_of(cfg)
    text = "\n".join(problems)
    assert "methods[2].method: unknown method 'pcc'" in text
    assert "methods[0] (pc).params: unknown parameter 'alpah'" in text
    assert "settings[1] (linear).params: parameter 'd'" in text
    assert "settings[2].simulator: unknown simulator 'nosuch'" in text
    assert len(problems) == 4


def test_structure_errors_name_the_key():
    cfg = copy.deepcopy(BASE)
    cfg["timeout_s"] = -1
    cfg["methds"] = []
    text = "\n".join(problems_of(cfg))
    assert "timeout_s" in text and "methds" in text


def test_out_of_range_values_are_refused():
    cfg = copy.deepcopy(BASE)
    cfg["settings"][0]["params"]["d"] = 1
    cfg["settings"].append({"simulator": "linear", "params": {"n": 0}})
    text = "\n".join(problems_of(cfg))
    assert "'d'" in text and "'n'" in text


def test_duplicate_ids_are_refused():
    cfg = copy.deepcopy(BASE)
    cfg["methods"].append({"method": "pc", "params": {"alpha": 0.01}})
    assert any("duplicate method id 'pc'" in p for p in problems_of(cfg))


@pytest.mark.parametrize("bad_id", ["../escape", "/abs", "a/b", "x y", ".hidden"])
def test_ids_that_would_leave_the_results_folder_are_refused(bad_id):
    cfg = copy.deepcopy(BASE)
    cfg["methods"][1]["id"] = bad_id
    assert any("not safe as a file name" in p for p in problems_of(cfg))


def test_yaml_is_loaded_as_data(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("seeds: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(evil)


@pytest.mark.parametrize("key, value", [("seeds", 3.0), ("seeds", [0, 1.0]), ("timeout_s", True)])
def test_a_float_or_bool_where_an_integer_belongs_is_named(key, value):
    """JSON Schema counts 3.0 as an integer; `seeds: 3.0` crashed range() (found by the fuzz test)."""
    problems = problems_of({**copy.deepcopy(BASE), key: value})
    assert any(p.startswith(key) for p in problems), problems


def test_a_float_bootstrap_count_is_named():
    cfg = copy.deepcopy(BASE)
    cfg["methods"][0]["bootstrap"] = 2.0
    assert any(p.startswith("methods[0].bootstrap") for p in problems_of(cfg))


def test_exact_posterior_option_is_expanded_and_its_errors_name_the_key():
    cfg = copy.deepcopy(BASE)
    cfg["settings"][0]["exact_posterior"] = True
    plan = load_plan(cfg)
    assert next(iter(plan.settings.values())).exact_posterior == {"graph_prior": "er", "edges_per_node": 2.0}
    cfg["settings"][0]["exact_posterior"] = {"graph_prior": "sf"}
    assert next(iter(load_plan(cfg).settings.values())).exact_posterior["graph_prior"] == "sf"
    for bad, want in [({"graph_prio": "sf"}, "'graph_prio' was unexpected"),
                      ({"graph_prior": "flat"}, "settings[0].exact_posterior.graph_prior: 'flat' is not one of"),
                      (3, "settings[0].exact_posterior: 3 is not of an allowed type (boolean, object)")]:
        cfg["settings"][0]["exact_posterior"] = bad
        found = problems_of(cfg)
        assert len(found) == 1 and want in found[0], found


def test_an_error_inside_a_list_alternative_names_the_item():
    cfg = copy.deepcopy(BASE)
    cfg["seeds"] = [1, 2.5]
    assert problems_of(cfg)[0].startswith("seeds[1]: 2.5 is not of type 'integer'")

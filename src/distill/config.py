"""Config checks the workflow runs at start (check, called by workflow/rules/common.smk): finite numbers,
the JSON schema (jsonschema, as Snakemake's validate, with integers that are ints) with a message that
names the key and what it allows, then what a schema cannot say (sizes that fit, values that print exactly)."""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import jsonschema
import yaml

from distill.data import DATASETS as REGISTRY
from distill.names import METHODS, is_image, regression

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    pass


NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")  # also 1e-3 and 1.0e3, which YAML 1.1 leaves as text


def coerce(value):
    """Numbers and booleans given as text (Snakemake's --config 'seeds=[0]' yields ['0']) -> their values."""
    if isinstance(value, dict):
        return {k: coerce(v) for k, v in value.items()}
    if isinstance(value, list):
        return [coerce(v) for v in value]
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        if isinstance(parsed, bool):  # only true/false, not YAML 1.1's yes/no/on/off
            return parsed if value.lower() in ("true", "false") else value
        if isinstance(parsed, (int, float)):
            return parsed
        return float(value) if NUMBER.fullmatch(value.strip()) else value
    return value


def numbers(node, path=()):
    """(key path, value) of every number in a config, at any depth (booleans are not numbers)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from numbers(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from numbers(v, (*path, i))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path, node


def check_finite(config: dict) -> None:
    """Every number is finite: a NaN passes every minimum and maximum of a JSON schema (it compares false)."""
    for path, value in numbers(config):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"config key {_key(path)}: {value!r} is not a finite number; allowed: a finite number")


def _key(path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int) or not str(part).isidentifier():  # a key with a control character stays on one line
            out += f"[{part if isinstance(part, int) else repr(part)}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _allowed(error: jsonschema.ValidationError) -> str:
    schema = error.schema
    if "enum" in schema:
        return "one of " + ", ".join(map(str, schema["enum"]))
    if error.validator == "additionalProperties":
        return "the keys " + ", ".join(schema.get("properties", {})) + " (is it a typo?)"
    if error.validator == "required":
        return "every one of " + ", ".join(schema["required"])
    if error.validator == "uniqueItems":
        return "each entry once"
    bounds = [f"{word} {schema[k]}" for k, word in [("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                                                    ("exclusiveMaximum", "<")] if k in schema]
    if bounds and error.validator != "type":
        return f"{schema.get('type', 'value')} " + " and ".join(bounds)
    if error.validator == "type":
        return f"a value of type {schema['type']}"
    # its first clause
    return schema.get("description", "").split("; ")[0] or f"{error.validator} {error.validator_value}"


# An integer is an int: JSON schema counts 5.0 as an integer, but it would reach a path as seed5.0
STRICT = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)))


@functools.lru_cache
def _validator(schema_path: str):
    return STRICT(yaml.safe_load(Path(schema_path).read_text()))  # parsing the schema takes 0.2 s: once


def explain(config: dict, schema_path: Path = SCHEMA) -> str | None:
    """One line per schema violation, naming the key and what it allows; None if the config is valid."""
    validator = _validator(str(schema_path))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    lines = []
    for error in errors:
        leaves = [e for e in error.context if e.validator == "enum"] if error.context else []
        for e in leaves or [error]:
            message = "has duplicate entries" if e.validator == "uniqueItems" else e.message
            lines.append(f"config key {_key(e.absolute_path)}: {message}; allowed: {_allowed(e)}")
    return "\n".join(dict.fromkeys(lines)) or None


def check_sizes(config: dict) -> None:
    """Every dataset an experiment uses has split sizes that fit its rows."""
    used = {e["target"] for e in config["experiments"]} | {base(e["source"]) for e in config["experiments"]}
    for name in sorted(used):
        sizes = config["data"]["sizes"].get(name)
        if sizes is None:
            raise ConfigError(f"config key data.sizes.{name} is missing: an experiment uses {name}; allowed: a mapping "
                              f"with big, small, test")
        rows, official_test = REGISTRY[name].rows, REGISTRY[name].test_rows
        if official_test:
            train, test_rows = rows, official_test
        else:  # the test part is split off the rows
            train, test_rows = rows - sizes["test"], rows - 1
        if sizes["test"] > test_rows:
            raise ConfigError(f"config key data.sizes.{name}.test = {sizes['test']} is too large; allowed: at most "
                              f"{test_rows}")
        if sizes["big"] + sizes["small"] > train:
            raise ConfigError(f"config keys data.sizes.{name}.big + small = {sizes['big'] + sizes['small']} is too "
                              f"large; allowed: at most {train} (the training rows of {name})")


def base(domain: str) -> str:
    """The dataset of a source domain: 'mnist+noise' -> 'mnist'."""
    return domain.split("+")[0]


def psi(domain: str) -> str | None:
    """The transform of a source domain: 'mnist+noise' -> 'noise', 'mnist' -> None."""
    return domain.split("+")[1] if "+" in domain else None


def allowed_phis(target: str, source: str) -> list[str]:
    """The mappings phi that carry a target input into the source domain (docs/study.md, sections 3 and 4)."""
    images = is_image(target)
    if base(source) == target:
        return ["none"] + ([psi(source)] if psi(source) else [])  # the raw input, or the domain's own psi
    other = REGISTRY.get(base(source))
    if psi(source) is None and images and other is not None and (other.shape, other.n_classes) == (
            REGISTRY[target].shape, REGISTRY[target].n_classes):
        return ["none", "vae"]  # the raw input, or the class-paired translator into another image dataset
    return ["none"]  # a translator pairs rows by class: it needs the same classes and the same input shape


def method(experiment: dict) -> str:
    """An experiment's method (distill.names.METHODS): hinton, soft answers through phi, unless it says bayes."""
    return experiment.get("method", METHODS[0])


def hinton(config: dict) -> list[tuple[str, str, str]]:
    """(target, source, phi) of every experiment of Hinton's distillation, in config order."""
    return [(e["target"], e["source"], e["phi"]) for e in config["experiments"] if method(e) == "hinton"]


def bayes(config: dict) -> list[tuple[str, str]]:
    """(target, source) of every experiment of Bayesian distillation, in config order."""
    return [(e["target"], e["source"]) for e in config["experiments"] if method(e) == "bayes"]


def check_methods(config: dict) -> None:
    """A Hinton experiment names its phi; a Bayesian one names none (the prior carries no answers), and two
    experiments are never the same run."""
    seen = {}
    for i, e in enumerate(config["experiments"]):
        described = f"experiments[{i}] (target={e['target']}, source={e['source']}, method={method(e)})"
        if method(e) == "hinton" and "phi" not in e:
            raise ConfigError(f"config key experiments[{i}].phi is missing: {described} learns from its teachers' "
                              f"answers through phi; allowed: one of none, noise, conv, vae, or method: bayes")
        if method(e) == "bayes" and "phi" in e:
            raise ConfigError(f"config key experiments[{i}].phi: {described} takes no phi: Bayesian distillation uses "
                              f"the teachers' posterior as the student's prior, never their answers, so nothing maps "
                              f"target inputs; allowed: drop phi")
        key = (e["target"], e["source"], method(e), e.get("phi"))
        if key in seen:
            raise ConfigError(f"config key experiments[{i}] repeats experiments[{seen[key]}] (target={e['target']}, "
                              f"source={e['source']}, method={method(e)}); allowed: each experiment once")
        seen[key] = i


def check_phis(config: dict) -> None:
    """Every Hinton experiment's phi leads into its source domain."""
    for i, e in enumerate(config["experiments"]):
        if method(e) != "hinton":
            continue
        allowed = allowed_phis(e["target"], e["source"])
        if e["phi"] not in allowed:
            raise ConfigError(f"config key experiments[{i}].phi: {e['phi']} does not lead from {e['target']} into the "
                              f"source domain {e['source']} (experiment target={e['target']}, source={e['source']}, "
                              f"phi={e['phi']}); allowed: {', '.join(allowed)}")


def check_distinct(config: dict) -> None:
    """Two distinct lams (or temperatures) must never become one run: paths and tables show 6 decimals."""
    from distill.io import fmt

    for key in ("lams", "temperatures"):
        seen = {}
        for value in config[key]:
            shown = fmt(value)
            if shown in seen and seen[shown] != value:
                raise ConfigError(f"config key {key}: {seen[shown]!r} and {value!r} are both {shown} in paths and "
                                  f"tables; allowed: values that differ within 6 decimals")
            seen[shown] = value


def check_written(config: dict) -> None:
    """Every lam and temperature reads back from its path and table row as the same number (distill.io.fmt)."""
    from distill.io import unwritten

    for key in ("lams", "temperatures"):
        for i, value in enumerate(config[key]):
            problem = unwritten(value)
            if problem:
                raise ConfigError(f"config key {key}[{i}]: {problem}")


def small_sizes(config: dict, target: str) -> list[int]:
    """The student's small-part sizes for a target, largest first: config small_sizes.<target>, or the
    whole small part (data.sizes.<target>.small) when the target is not listed. A size n is the first n
    rows of the small part, which the split drew at random: 100 of 250 of 500 of 1000 (docs/study.md, section 4,
    "Small-part size")."""
    sizes = config.get("small_sizes", {}).get(target) or [config["data"]["sizes"][target]["small"]]
    return sorted(sizes, reverse=True)


def temperatures(config: dict, target: str) -> list[float]:
    """The temperatures of a target's sweeps: T enters only the classification loss, so a regression
    target (bike) trains at T = 1 whatever config temperatures says."""
    return [1.0] if regression(target) else config["temperatures"]


def check_small_sizes(config: dict) -> None:
    """Every small-part size fits the target's small part, and no phi has seen more of the target than the
    student: the translator (phi = vae across datasets) is fitted on the whole labelled small part."""
    targets = sorted({e["target"] for e in config["experiments"]})
    for target, sizes in config.get("small_sizes", {}).items():
        if target not in targets:
            raise ConfigError(f"config key small_sizes.{target}: {target} is no experiment's target, so its sizes "
                              f"would be ignored (a typo?); allowed: the targets {', '.join(targets)}")
        small = config["data"]["sizes"].get(target, {}).get("small")
        if small is not None and max(sizes) > small:
            raise ConfigError(f"config key small_sizes.{target}: {max(sizes)} is larger than the small part "
                              f"data.sizes.{target}.small = {small}; allowed: sizes up to {small} (each is the first n "
                              f"rows of the small part)")
    for i, e in enumerate(config["experiments"]):
        if e.get("phi") == "vae" and base(e["source"]) != e["target"]:
            small = config["data"]["sizes"][e["target"]]["small"]
            if min(small_sizes(config, e["target"])) < small:
                raise ConfigError(f"config key small_sizes.{e['target']}: experiments[{i}] ({e['target']} <- "
                                  f"{e['source']}, phi = vae) fits its translator on the whole labelled small part "
                                  f"({small} rows), so a student of fewer rows would learn, through phi, from labels "
                                  f"it does not have; allowed: only {small} for this target, or drop the experiment")


def check(config: dict) -> None:
    """What the workflow checks at start, on a config coerce() has already typed: check_finite (a NaN passes a
    schema's bounds), the schema (ConfigError naming each key and what it allows), then check_sizes, check_methods,
    check_phis, check_small_sizes, check_distinct and check_written (no lam or T prints as another number)."""
    check_finite(config)
    errors = explain(config)  # the schema, as snakemake.utils.validate checks it, but 5.0 is no integer
    if errors:
        raise ConfigError(errors)
    check_sizes(config)
    check_methods(config)
    check_phis(config)
    check_small_sizes(config)
    check_distinct(config)
    check_written(config)

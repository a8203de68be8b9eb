"""Render docs/config.md, the reference of every config key, from the descriptions in the config schema.

One table per section (key path, type, default from config.yaml or the schema, allowed values, description).
Ends with a one-line error, writing nothing, when a key of the schema has no description. With --check it
writes nothing and exits 1 when the page differs from what it would render now (tests/test_docs.py runs it).

Example:
    python workflow/scripts/config_docs.py --out docs/config.md          # make docs
    python workflow/scripts/config_docs.py --out docs/config.md --check
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

ARRAY = "[]"  # the path element of an array's entries: experiments[].target


def _lookup(root: dict, ref: str) -> dict:
    node = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def resolve(node: dict, root: dict) -> dict:
    """A schema with its $ref followed and its allOf parts merged (later parts and the node's own keys win, so a
    key's description at its site beats the one of the definition it refers to). The if/then parts of allOf are
    kept as `conditions`; `required` is the union of the parts'."""
    out: dict = {}
    parts = []
    if "$ref" in node:
        parts.append(resolve(_lookup(root, node["$ref"]), root))
    conditions = []
    for part in node.get("allOf", []):
        if "if" in part:
            conditions.append(part)
        else:
            parts.append(resolve(part, root))
    parts.append({k: v for k, v in node.items() if k not in ("$ref", "allOf")})
    for part in parts:
        for key, value in part.items():
            if key == "properties":
                props = out.setdefault("properties", {})
                for name, sub in value.items():
                    props[name] = {**props.get(name, {}), **sub}
            elif key == "required":
                out["required"] = list(dict.fromkeys([*out.get("required", []), *value]))
            elif key == "conditions":
                conditions = [*value, *conditions]
            else:
                out[key] = value
    if conditions:
        out["conditions"] = conditions
    return out


def _placeholder(schema: dict) -> str:
    ref = schema.get("propertyNames", {}).get("$ref", "")
    return f"<{ref.rsplit('/', 1)[-1] or 'key'}>"


def keys(root: dict):
    """(path, resolved schema, parent's resolved schema) of every key of the config, depth first in schema order.
    A path is a tuple of names; ARRAY stands for an array's entries, <name> for any key of a mapping. An object
    whose schema requires some keys lists those (the others it accepts are its `unused` ones)."""

    def walk(path, schema, parent):
        if path:
            yield path, schema, parent
        props = schema.get("properties", {})
        # an entry of an array lists its optional keys too (an experiment's method and phi); elsewhere the optional keys
        # of a shared definition are the ones another use requires (training.vae's hidden), listed where required
        every = path and path[-1] == ARRAY
        listed = [n for n in props if n in schema["required"]] if "required" in schema and not every else list(props)
        for name in listed:
            yield from walk((*path, name), resolve(props[name], root), schema)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            yield from walk((*path, _placeholder(schema)), resolve(extra, root), schema)
        items = schema.get("items")
        if isinstance(items, dict):
            item = resolve(items, root)
            if "properties" in item:
                yield from walk((*path, ARRAY), item, schema)

    yield from walk((), resolve(root, root), None)


def key_name(path) -> str:
    out = ""
    for part in path:
        out += part if part == ARRAY or not out else f".{part}"
    return out


def undocumented(root: dict) -> list[str]:
    """The keys without a description: every key path of the config (keys(); the entries of an array of objects
    excepted, their keys are the rows), and every entry of a `properties` or `additionalProperties` anywhere in
    the schema, its definitions and allOf parts included (what an `if` tests is a condition, not a key), each
    named by its key path ($defs.<name>.<key> in a definition)."""
    out = [key_name(path) for path, schema, _ in keys(root) if path[-1] != ARRAY and not schema.get("description")]

    def raw(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "if":
                    continue
                if key == "properties":
                    for name, sub in value.items():
                        if not sub.get("description"):
                            out.append(key_name((*path, name)))
                        raw(sub, (*path, name))
                elif key == "additionalProperties" and isinstance(value, dict):
                    if not value.get("description") and "$ref" not in value:
                        out.append(key_name((*path, _placeholder(node))))
                    raw(value, (*path, _placeholder(node)))
                elif key == "items":
                    raw(value, (*path, ARRAY))
                elif key == "$defs":
                    for name, sub in value.items():
                        raw(sub, ("$defs", name))
                else:
                    raw(value, path)
        elif isinstance(node, list):
            for value in node:
                raw(value, path)

    raw(root, ())
    return list(dict.fromkeys(out))


def _type(schema: dict, root: dict) -> str:
    kind = schema.get("type")
    if kind is None and "enum" in schema:
        kinds = {type(v).__name__ for v in schema["enum"]}
        names = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
        kind = names.get(kinds.pop(), "value") if len(kinds) == 1 else "value"
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"list of {_type(resolve(schema['items'], root), root)}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "mapping"
    return kind or "value"


def _code(values) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _bounds(schema: dict) -> list[str]:
    words = [("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")]
    return [f"{word} {_value(schema[k])}" for k, word in words if k in schema]


def allowed(schema: dict, parent: dict | None, name: str, root: dict) -> str:
    """The values a key takes, from its schema (enum, bounds, entries), the conditions of its parent, and the keys
    an object accepts without using them."""
    out = []
    if "enum" in schema:
        out.append("one of " + _code(schema["enum"]))
    out += _bounds(schema)
    if schema.get("type") == "array":
        least = schema.get("minItems")
        entries = [f"at least {least} entr{'y' if least == 1 else 'ies'}"] if least else []
        entries += ["each once"] if schema.get("uniqueItems") else []
        item = resolve(schema["items"], root) if isinstance(schema.get("items"), dict) else {}
        item_values = (["one of " + _code(item["enum"])] if "enum" in item else []) + _bounds(item)
        out.append(", ".join(entries) + ("; each " + " and ".join(item_values) if item_values else ""))
    if "propertyNames" in schema:
        names = resolve(schema["propertyNames"], root)
        out.append("keys: " + _code(names.get("enum", [])))
    if "required" in schema and "properties" in schema:
        unused = [n for n in schema["properties"] if n not in schema["required"]]
        if unused:
            out.append("also accepted, unused here: " + _code(unused))
    for condition in (parent or {}).get("conditions", []):
        then = condition.get("then", {}).get("properties", {}).get(name)
        if then and "enum" in then:
            tests = condition["if"]["properties"].items()
            tested = ", ".join(f"{k} in {_code(resolve(v, root).get('enum', []))}" for k, v in tests)
            out.append(f"when {tested}: one of {_code(then['enum'])} ({then.get('description', '')})")
    return "; ".join(x for x in out if x) or "—"


def _value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def default(path, schema: dict, config: dict) -> str:
    """The key's value in config.yaml (per mapping key for a <name> in its path), else the schema's default."""
    found = [((), config)]
    for part in path:
        nxt = []
        for where, node in found:
            if part == ARRAY:
                return "per entry" if isinstance(node, list) else "—"
            if part.startswith("<") and isinstance(node, dict):
                nxt += [((*where, k), v) for k, v in node.items()]
            elif isinstance(node, dict) and part in node:
                nxt.append((where, node[part]))
        found = nxt
    if not found:
        return f"`{_value(schema['default'])}`" if "default" in schema else "—"
    has_rows = schema.get("properties") or isinstance(schema.get("additionalProperties"), dict)
    if has_rows and all(isinstance(value, dict) and value for _, value in found):
        return "rows below"
    shown = []
    for where, value in found:
        if isinstance(value, list) and value and isinstance(value[0], dict):
            text = f"{len(value)} entries"
        else:
            text = f"`{_value(value)}`"
        shown.append(f"{'.'.join(where)}: {text}" if where else text)
    return "; ".join(dict.fromkeys(shown))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _prose(text: str) -> str:
    """Description text for a Markdown cell: a bare <dataset> would read as an HTML tag."""
    return _cell(text).replace("<", "\\<")


def render(root: dict, config: dict, schema_name: str, config_name: str) -> str:
    rows: dict[str, list[str]] = {}  # section -> its table rows, in schema order
    top = resolve(root, root)["properties"]

    def own(name: str) -> bool:  # a top-level key of several keys gets its own table
        schema = resolve(top[name], root)
        return "properties" in schema or "properties" in resolve(schema.get("items", {}), root)

    for path, schema, parent in keys(root):
        if path[-1] == ARRAY:
            continue
        rows.setdefault(f"`{path[0]}`" if own(path[0]) else "Top-level keys", []).append(
            f"| `{key_name(path)}` | {_cell(_type(schema, root))} | {_cell(default(path, schema, config))} "
            f"| {_prose(allowed(schema, parent, path[-1], root))} | {_prose(schema['description'])} |")
    head = f"""# Config keys

<!-- Generated from {schema_name} by workflow/scripts/config_docs.py (make docs): do not edit. -->

Every key of the study's config, one table per section. This page is generated from the descriptions in
`{schema_name}` by `workflow/scripts/config_docs.py`: to change it, edit a description there and run
`make docs`. `tests/test_docs.py` fails when a key has no description or this page is out of date.

{_prose(root.get('description', ''))} The defaults are the values of `{config_name}` (the default study);
`workflow/configs/extended.yaml` and `tests/smoke/config.yaml` are laid over it with `--configfile`, and one
key can be overridden on the command line, e.g. `snakemake -n --config 'seeds=[0]'`. The schema and the
checks in `src/distill/config.py` run before any job; an error names the key and what it allows.
`[]` stands for each entry of a list, `<dataset>` for any dataset name used as a key.
"""
    table = "| key | type | default | allowed | description |\n| --- | --- | --- | --- | --- |\n"
    body = [f"\n## {title}\n\n{table}" + "\n".join(r) + "\n" for title, r in rows.items()]
    return head + "".join(body)


def main(argv=None) -> None:
    from distill import cli
    from distill.io import atomic_path, fail

    p = cli.Parser(__doc__)
    p.add_argument("--schema", type=Path, default=ROOT / "workflow" / "schemas" / "config.schema.yaml",
                   help="the config schema (default workflow/schemas/config.schema.yaml)")
    p.add_argument("--config", type=Path, default=ROOT / "config.yaml",
                   help="the config whose values are the defaults (default config.yaml)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "config.md",
                   help="the page to write (default docs/config.md)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if --out differs from what would be rendered")
    args = p.parse_args(argv)
    for option in ("schema", "config"):
        if not getattr(args, option).is_file():
            fail(f"--{option} {getattr(args, option)} is not a file")
    def mapping(option: str, what: str, key: str | None = None) -> dict:
        """The YAML mapping an option names, or a one-line refusal naming the file."""
        path = getattr(args, option)
        try:
            loaded = yaml.safe_load(path.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            fail(f"--{option} {path} cannot be read as YAML ({type(e).__name__}); allowed: {what}")
        if not isinstance(loaded, dict) or (key and not isinstance(loaded.get(key), dict)):
            fail(f"--{option} {path} " + (f"has no '{key}' mapping" if key else "is not a YAML mapping")
                 + f"; allowed: {what}")
        return loaded

    root = mapping("schema", "a JSON schema in YAML, like workflow/schemas/config.schema.yaml", "properties")
    config = mapping("config", "a study config in YAML, like config.yaml")
    missing = undocumented(root)
    if missing:
        fail(f"{args.schema}: {len(missing)} key(s) without a description: {', '.join(missing)}")

    def shown(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(ROOT))
        except ValueError:
            return str(path)

    text = render(root, config, shown(args.schema), shown(args.config))
    if args.check:
        if not args.out.is_file() or args.out.read_text() != text:
            fail(f"{args.out} is out of date with {args.schema}: run make docs")
        print(f"{args.out} is up to date")
        return
    cli.writable("out", args.out)
    with atomic_path(args.out) as tmp:
        tmp.write_text(text)
    print(f"wrote {args.out} ({text.count(chr(10))} lines)")


if __name__ == "__main__":
    main()

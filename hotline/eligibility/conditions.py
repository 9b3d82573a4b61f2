"""A tiny, safe condition language for rules.yaml (no eval, no attribute access, no code).

Grammar (YAML mappings)::

    cond  := {all: [cond, ...]} | {any: [cond, ...]} | {not: cond} | {always: true|false} | leaf
    leaf  := {field: NAME, OP: VALUE [, if_missing: true|false|unknown]}
           | {var: NAME,   OP: VALUE [, if_missing: ...]}
           | {field|var: NAME, op: OP | {config: PATH}, value: VALUE [, if_missing: ...]}
    OP    := eq ne lt le gt ge in not_in contains intersects empty missing
    VALUE := scalar | [scalar, ...] | {list: NAME | [NAME, ...]} | {config: PATH} | {var: NAME}
           | {field: NAME}

Logic is three-valued (Kleene): a leaf whose subject is unknown (None) is *unknown* unless the rule says
what a missing value means with `if_missing`. `all` is false if any part is false, `any` is true if any
part is true. Unknown results carry the names of the missing facts, which become the citizen's
"还需要了解" list. Everything is checked at load time (operator names, field names, value types, allowed
enum values, config paths), so a malformed rule fails loudly when the bot starts, never mid-conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Tri = bool | None

ALL_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "contains", "intersects", "empty", "missing")
OPS_BY_KIND: dict[str, frozenset[str]] = {
    "number": frozenset({"eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "missing"}),
    "bool": frozenset({"eq", "ne", "missing"}),
    "enum": frozenset({"eq", "ne", "in", "not_in", "missing"}),
    "text": frozenset({"eq", "ne", "in", "not_in", "missing"}),
    "set": frozenset({"contains", "intersects", "empty", "missing"}),
}
# Comparator spellings a config value may use with `op: {config: ...}`.
COMPARATORS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
_LEAF_KEYS = {"field", "var", "op", "value", "if_missing", *ALL_OPS}


class RuleError(ValueError):
    """A rules file that does not follow the grammar; the message names the rule and the problem."""


@dataclass(frozen=True)
class Const:
    value: Any


@dataclass(frozen=True)
class ConfigRef:
    path: str


@dataclass(frozen=True)
class VarRef:
    name: str


@dataclass(frozen=True)
class FieldRef:
    name: str


Value = Const | ConfigRef | VarRef | FieldRef


@dataclass(frozen=True)
class Leaf:
    subject: FieldRef | VarRef
    op: str | ConfigRef
    value: Value
    if_missing: Tri


@dataclass(frozen=True)
class All:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Not:
    item: Cond


@dataclass(frozen=True)
class Always:
    value: bool


Cond = Leaf | All | AnyOf | Not | Always


@dataclass(frozen=True)
class Vocabulary:
    """What a condition may name: facts fields, computed vars, named lists and config paths."""

    fields: Mapping[str, tuple[str, frozenset[str]]]
    variables: Mapping[str, tuple[str, frozenset[str]]]
    lists: Mapping[str, tuple[str, ...]]
    config_paths: frozenset[str]


# --- compiling --------------------------------------------------------------------------------------


def compile_condition(raw: Any, vocab: Vocabulary, where: str) -> Cond:
    """Turn the YAML structure into a checked tree; raise RuleError naming `where` on any problem."""
    if not isinstance(raw, Mapping):
        raise RuleError(f"{where}: a condition must be a mapping, got {type(raw).__name__}: {raw!r}")
    keys = set(raw)
    for combinator in ("all", "any"):
        if combinator in keys:
            if keys != {combinator}:
                raise RuleError(f"{where}: '{combinator}' cannot be mixed with {sorted(keys - {combinator})}")
            items = raw[combinator]
            if not isinstance(items, list) or not items:
                raise RuleError(f"{where}: '{combinator}' needs a non-empty list of conditions")
            compiled = tuple(
                compile_condition(item, vocab, f"{where}.{combinator}[{i}]") for i, item in enumerate(items)
            )
            return All(compiled) if combinator == "all" else AnyOf(compiled)
    if "not" in keys:
        if keys != {"not"}:
            raise RuleError(f"{where}: 'not' cannot be mixed with {sorted(keys - {'not'})}")
        return Not(compile_condition(raw["not"], vocab, f"{where}.not"))
    if "always" in keys:
        if keys != {"always"} or not isinstance(raw["always"], bool):
            raise RuleError(f"{where}: use 'always: true' or 'always: false' alone")
        return Always(raw["always"])
    return _compile_leaf(raw, vocab, where)


def _compile_leaf(raw: Mapping[str, Any], vocab: Vocabulary, where: str) -> Leaf:
    unknown = set(raw) - _LEAF_KEYS
    if unknown:
        raise RuleError(
            f"{where}: unknown operator or key {sorted(unknown)}; "
            f"allowed: all, any, not, always, field, var, op, value, if_missing, {', '.join(ALL_OPS)}"
        )
    subjects = [k for k in ("field", "var") if k in raw]
    if len(subjects) != 1:
        raise RuleError(f"{where}: a comparison needs exactly one of 'field' or 'var'")
    subject = _subject(subjects[0], raw[subjects[0]], vocab, where)
    kind, allowed = _subject_info(subject, vocab)

    ops = [k for k in ALL_OPS if k in raw]
    op: str | ConfigRef
    if "op" in raw:
        if ops or "value" not in raw:
            raise RuleError(f"{where}: 'op' form needs 'op' and 'value' and no other operator")
        op = _op_ref(raw["op"], vocab, where)
        raw_value = raw["value"]
        check_ops = {"lt", "le", "gt", "ge", "eq", "ne"} if isinstance(op, ConfigRef) else {op}
    else:
        if "value" in raw:
            raise RuleError(f"{where}: 'value' is only used together with 'op'")
        if len(ops) != 1:
            raise RuleError(f"{where}: a comparison needs exactly one operator, found {ops or 'none'}")
        op = ops[0]
        raw_value = raw[op]
        check_ops = {op}
    for name in check_ops:
        if name not in OPS_BY_KIND[kind]:
            raise RuleError(
                f"{where}: operator '{name}' does not apply to {_subject_name(subject)} ({kind}); "
                f"use one of {sorted(OPS_BY_KIND[kind])}"
            )
    value = _value(raw_value, vocab, where)
    first = next(iter(check_ops))
    _check_value(first, kind, allowed, value, vocab, where)

    if_missing_raw = raw.get("if_missing", "unknown")
    if if_missing_raw not in (True, False, "unknown"):
        raise RuleError(f"{where}: if_missing must be true, false or unknown, got {if_missing_raw!r}")
    if_missing: Tri = None if if_missing_raw == "unknown" else bool(if_missing_raw)
    return Leaf(subject, op, value, if_missing)


def _subject(key: str, name: Any, vocab: Vocabulary, where: str) -> FieldRef | VarRef:
    if key == "field":
        if name not in vocab.fields:
            raise RuleError(f"{where}: unknown field {name!r}; known: {sorted(vocab.fields)}")
        return FieldRef(name)
    if name not in vocab.variables:
        raise RuleError(f"{where}: unknown var {name!r}; known: {sorted(vocab.variables)}")
    return VarRef(name)


def _subject_info(subject: FieldRef | VarRef, vocab: Vocabulary) -> tuple[str, frozenset[str]]:
    return vocab.fields[subject.name] if isinstance(subject, FieldRef) else vocab.variables[subject.name]


def _subject_name(subject: FieldRef | VarRef) -> str:
    return f"field {subject.name!r}" if isinstance(subject, FieldRef) else f"var {subject.name!r}"


def _op_ref(raw: Any, vocab: Vocabulary, where: str) -> str | ConfigRef:
    if isinstance(raw, str) and raw in ALL_OPS:
        return raw
    if isinstance(raw, Mapping) and set(raw) == {"config"}:
        path = raw["config"]
        if path not in vocab.config_paths:
            raise RuleError(f"{where}: unknown config path {path!r}")
        return ConfigRef(path)
    raise RuleError(f"{where}: 'op' must be one of {list(ALL_OPS)} or {{config: PATH}}, got {raw!r}")


def _value(raw: Any, vocab: Vocabulary, where: str) -> Value:
    if isinstance(raw, Mapping):
        if len(raw) != 1:
            raise RuleError(f"{where}: a value reference has one key (list/config/var/field): {raw!r}")
        ((key, name),) = raw.items()
        if key == "list":
            names = [name] if isinstance(name, str) else name
            if not isinstance(names, list) or not names:
                raise RuleError(f"{where}: 'list' takes a list name or a list of names")
            out: list[str] = []
            for n in names:
                if n not in vocab.lists:
                    raise RuleError(f"{where}: unknown list {n!r}; known: {sorted(vocab.lists)}")
                out.extend(vocab.lists[n])
            return Const(tuple(dict.fromkeys(out)))
        if key == "config":
            if name not in vocab.config_paths:
                raise RuleError(f"{where}: unknown config path {name!r}")
            return ConfigRef(name)
        if key == "var":
            if name not in vocab.variables:
                raise RuleError(f"{where}: unknown var {name!r}")
            return VarRef(name)
        if key == "field":
            if name not in vocab.fields:
                raise RuleError(f"{where}: unknown field {name!r}")
            return FieldRef(name)
        raise RuleError(f"{where}: unknown value reference {key!r}; use list, config, var or field")
    if isinstance(raw, list):
        if not all(_is_scalar(v) for v in raw):
            raise RuleError(f"{where}: list values must be plain scalars: {raw!r}")
        return Const(tuple(raw))
    if not _is_scalar(raw):
        raise RuleError(f"{where}: unsupported value {raw!r}")
    return Const(raw)


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_value(
    op: str, kind: str, allowed: frozenset[str], value: Value, vocab: Vocabulary, where: str
) -> None:
    def member(v: Any) -> None:
        if kind in ("enum", "set") and v not in allowed:
            raise RuleError(f"{where}: {v!r} is not an allowed value; allowed: {sorted(allowed)}")
        if kind == "number" and not _is_number(v):
            raise RuleError(f"{where}: {v!r} is not a number")
        if kind == "bool" and not isinstance(v, bool):
            raise RuleError(f"{where}: {v!r} is not true/false")
        if kind == "text" and not isinstance(v, str):
            raise RuleError(f"{where}: {v!r} is not text")

    if isinstance(value, FieldRef | VarRef):
        ref_kind = (vocab.fields if isinstance(value, FieldRef) else vocab.variables)[value.name][0]
        if op in ("lt", "le", "gt", "ge") and ref_kind != "number":
            raise RuleError(f"{where}: compares with non-number {value.name!r}")
        return
    if isinstance(value, ConfigRef):
        if op in ("empty", "missing"):
            raise RuleError(f"{where}: '{op}' takes true or false, not a config value")
        return
    v = value.value
    if op in ("empty", "missing"):
        if not isinstance(v, bool):
            raise RuleError(f"{where}: '{op}' takes true or false")
    elif op in ("in", "not_in", "intersects"):
        if not isinstance(v, tuple):
            raise RuleError(f"{where}: '{op}' needs a list")
        for item in v:
            member(item)
    elif op in ("lt", "le", "gt", "ge"):
        if not _is_number(v):
            raise RuleError(f"{where}: '{op}' needs a number, got {v!r}")
    else:  # eq, ne, contains
        if isinstance(v, tuple):
            raise RuleError(f"{where}: '{op}' needs a single value, not a list")
        member(v)


# --- evaluating -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Env:
    """Where a condition looks things up; built fresh by decide() for each inquiry."""

    fields: Mapping[str, Any]
    variables: Mapping[str, Any]
    config: Callable[[str], Any]

    def resolve(self, value: Value) -> tuple[Any, str | None]:
        """(value, name of the missing thing if the value is an unknown reference)."""
        if isinstance(value, Const):
            return value.value, None
        if isinstance(value, ConfigRef):
            return self.config(value.path), None
        if isinstance(value, VarRef):
            got = self.variables.get(value.name)
            return got, (value.name if got is None else None)
        got = self.fields.get(value.name)
        return got, (value.name if got is None else None)


Result = tuple[Tri, frozenset[str]]
_NOTHING: frozenset[str] = frozenset()


def evaluate(cond: Cond, env: Env) -> Result:
    """Kleene evaluation; the set holds the names whose absence made the answer unknown."""
    if isinstance(cond, Always):
        return cond.value, _NOTHING
    if isinstance(cond, Not):
        value, missing = evaluate(cond.item, env)
        return (None if value is None else not value), missing
    if isinstance(cond, All | AnyOf):
        decisive = isinstance(cond, AnyOf)  # the value that settles the whole combinator
        unknown: set[str] = set()
        saw_unknown = False
        for item in cond.items:
            value, missing = evaluate(item, env)
            if value is decisive:
                return decisive, _NOTHING
            if value is None:
                saw_unknown = True
                unknown |= missing
        return (None, frozenset(unknown)) if saw_unknown else (not decisive, _NOTHING)
    return _leaf(cond, env)


def _leaf(leaf: Leaf, env: Env) -> Result:
    subject_name = leaf.subject.name
    subject = (env.fields if isinstance(leaf.subject, FieldRef) else env.variables).get(subject_name)
    op = leaf.op
    if isinstance(op, ConfigRef):
        op = COMPARATORS.get(str(env.config(op.path)), "invalid")
    if op == "missing":
        return (subject is None) == leaf.value.value if isinstance(leaf.value, Const) else None, _NOTHING
    if subject is None:
        return leaf.if_missing, (frozenset({subject_name}) if leaf.if_missing is None else _NOTHING)
    value, missing_ref = env.resolve(leaf.value)
    if missing_ref is not None:
        return None, frozenset({missing_ref})
    return _apply(op, subject, value), _NOTHING


def _apply(op: str, subject: Any, value: Any) -> Tri:
    match op:
        case "eq":
            return bool(subject == value)
        case "ne":
            return bool(subject != value)
        case "lt":
            return bool(subject < value)
        case "le":
            return bool(subject <= value)
        case "gt":
            return bool(subject > value)
        case "ge":
            return bool(subject >= value)
        case "in":
            return subject in value
        case "not_in":
            return subject not in value
        case "contains":
            return value in subject
        case "intersects":
            return bool(set(subject) & set(value))
        case "empty":
            return (len(subject) == 0) == bool(value)
    return None  # an invalid comparator in config: unknown, so the rule asks a human instead of guessing

"""Forms in the browser: a fact published by hand, and the intake form (ADR 0015).

A partner without an application of its own publishes a fact by hand: the form is generated
from the fact type's JSON Schema (`schema_form`), the submitted strings are turned into JSON
content (`parse_schema_form`) and that content is validated by exactly the validation the API
uses (`FactType.validate`); nothing here re-implements a schema rule. Each problem is told in
Dutch at the input it concerns (`FormError.field` is the HTML id of the input,
``"field-" + name`` with dots as dashes), all at once.

The intake form (aanmelding) builds a `CaseIn` (`parse_intake_form`); pydantic's errors, and
the checks the intake service makes on a subject's identifiers (a valid BSN, or a name with a
date of birth: `hub.cases.intake.subject_pseudonyms`, here with the same functions from
`hub.crypto.blind_index`), are told in the same Dutch (`intake_errors`).

No message repeats a submitted value: a refused form must not echo personal data.

Labels come from the schema's ``title`` of a field, else from its property name, made
readable; an enum value's label likewise, except for life domains, whose Dutch names are
`hub.plans.parts.DOMAIN_NL`. Words are not translated in code: a Dutch label belongs in the
schema's ``title``.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from pydantic import ValidationError

from hub.cases.schemas import CaseIn
from hub.facts.catalog import SCHEMA_KEYWORDS, FactType, FactValidationError
from hub.plans.parts import DOMAIN_NL
from hub.vocabulary import CaseKind, LifeDomain, TableId

__all__ = [
    "CASE_KIND_NL",
    "INTAKE_LABELS",
    "INTAKE_SUBJECT_FIELDS",
    "MAX_SUBJECT_ROWS",
    "TABLE_NL",
    "FormError",
    "FormField",
    "UnsupportedSchema",
    "Widget",
    "errors_by_field",
    "form_values",
    "input_id",
    "intake_errors",
    "intake_options",
    "parse_date",
    "parse_intake_form",
    "parse_schema_form",
    "schema_form",
]

Widget = Literal[
    "text",
    "textarea",
    "number",
    "integer",
    "date",
    "datetime",
    "select",
    "checkboxes",
    "radio_bool",
    "lines",
    "fieldset",
]

#: A free string longer than this gets a textarea rather than a single-line input.
TEXTAREA_FROM: Final = 200
#: Form field that is submitted with every form and is never content.
CSRF_FIELD: Final = "csrf_token"
#: The example date in date messages (a fixed day: no message depends on the clock).
EXAMPLE_DATE: Final = "05-12-2026"

#: The radio buttons of a boolean: submitted value -> label.
BOOL_OPTIONS: Final[tuple[tuple[str, str], ...]] = (("ja", "Ja"), ("nee", "Nee"))
_TRUE: Final = frozenset({"ja", "true"})
_FALSE: Final = frozenset({"nee", "false"})

#: The JSON Schema keywords this module knows how to render (the catalog's own allowlist
#: minus ``const``); anything else in a schema raises `UnsupportedSchema`.
_RENDERED_KEYWORDS: Final = SCHEMA_KEYWORDS - {"const"}


class UnsupportedSchema(Exception):
    """A fact-type schema uses a construct the generated form cannot render.

    Raised by `schema_form`; a test renders every shipped schema, so a new schema that needs
    this fails in CI rather than in front of a user. The message names the schema and the
    keyword (schemas are ours, not personal data).
    """


@dataclass(frozen=True, slots=True)
class FormField:
    """One input (or fieldset) of a form generated from a fact type's JSON Schema."""

    #: dotted path of the property (``housing_contact.role``); also the input's ``name``
    name: str
    #: Dutch label: the schema's ``title``, else the property name made readable
    label: str
    widget: Widget
    #: the schema's ``description``
    hint: str | None = None
    required: bool = False
    #: (value, label) of an enum (select, checkboxes) or of a boolean (radio_bool)
    options: tuple[tuple[str, str], ...] = ()
    #: ``maxLength`` of a string (of each line, for ``lines``)
    maxlength: int | None = None
    #: the fields of a fieldset
    children: tuple[FormField, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    #: ``maxItems`` of an array (checkboxes, lines)
    max_items: int | None = None
    #: the ``pattern`` of a string (of each line), for the message only: rendered as an HTML
    #: ``pattern`` the browser would answer in its own words before the hub could
    pattern: str | None = None
    #: top-level fields only: ``summary`` | ``full`` | ``never`` (``x-disclosure``), so a
    #: page can say which fields never leave the publisher
    disclosure: str | None = None

    @property
    def id(self) -> str:
        """The HTML id of the input: ``field-`` + name, dots as dashes."""
        return input_id(self.name)


@dataclass(frozen=True, slots=True)
class FormError:
    """One problem, in Dutch: at the input with HTML id ``field`` (None: the whole form)."""

    field: str | None
    message: str


def input_id(name: str) -> str:
    """``housing_contact.role`` -> ``field-housing_contact-role`` (as the component macros)."""
    return "field-" + name.replace(".", "-")


def errors_by_field(errors: Sequence[FormError]) -> dict[str, str]:
    """Input id -> its message(s) joined, for the template; form-wide errors are left out."""
    joined: dict[str, str] = {}
    for error in errors:
        if error.field is not None:
            joined[error.field] = (
                f"{joined[error.field]} {error.message}" if error.field in joined else error.message
            )
    return joined


# --- labels ---------------------------------------------------------------------------------


def _readable(name: str) -> str:
    """``stage_date`` -> ``Stage date``: a property name or enum value as a reader sees it."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _label(name: str, node: Mapping[str, Any]) -> str:
    title = node.get("title")
    return title.strip() if isinstance(title, str) and title.strip() else _readable(name)


def _option_labels(values: Sequence[str]) -> tuple[tuple[str, str], ...]:
    domains = set(LifeDomain.__members__.values())
    if values and all(v in domains for v in values):
        return tuple((v, _readable(DOMAIN_NL[LifeDomain(v)])) for v in values)
    return tuple((v, _readable(v)) for v in values)


# --- the form of a fact type ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spec:
    fields: tuple[FormField, ...]
    #: name -> field, every field at every depth
    by_name: Mapping[str, FormField]
    #: name -> the label a message uses (a nested field names its fieldset too)
    message_label: Mapping[str, str]
    #: name -> position in the form, for ordering messages
    order: Mapping[str, int]


def schema_form(fact_type: FactType) -> list[FormField]:
    """The fields of the fact type's form, in schema order; `UnsupportedSchema` if it cannot."""
    return list(_spec(fact_type).fields)


@functools.lru_cache(maxsize=256)
def _spec(fact_type: FactType) -> _Spec:
    schema = fact_type.schema
    try:
        _check_keywords(schema, "/")
        fields = _object_fields(schema, "", "", top=True)
    except UnsupportedSchema as exc:
        raise UnsupportedSchema(f"fact type {fact_type.id}: {exc}") from None
    by_name: dict[str, FormField] = {}
    message_label: dict[str, str] = {}

    def index(items: Sequence[FormField], parent: str | None) -> None:
        for item in items:
            by_name[item.name] = item
            message_label[item.name] = item.label if parent is None else f"{item.label} ({parent})"
            index(item.children, item.label)

    index(fields, None)
    return _Spec(
        fields=fields,
        by_name=by_name,
        message_label=message_label,
        order={name: i for i, name in enumerate(by_name)},
    )


def _check_keywords(node: Mapping[str, Any], where: str) -> None:
    unknown = sorted(k for k in node if not k.startswith("x-") and k not in _RENDERED_KEYWORDS)
    if unknown:
        raise UnsupportedSchema(f"{where}: keyword {unknown[0]!r} cannot be rendered in a form")


def _object_fields(
    node: Mapping[str, Any], prefix: str, where: str, *, top: bool = False
) -> tuple[FormField, ...]:
    properties = node.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        raise UnsupportedSchema(f"{where}: an object without properties cannot be rendered")
    required = node.get("required", [])
    return tuple(
        _field(
            name,
            sub,
            prefix + name,
            f"{where}/properties/{name}",
            required=name in required,
            top=top,
        )
        for name, sub in properties.items()
    )


def _field(name: str, node: Any, path: str, where: str, *, required: bool, top: bool) -> FormField:
    if not isinstance(node, Mapping):
        raise UnsupportedSchema(f"{where}: a subschema must be an object")
    _check_keywords(node, where)
    kind = node.get("type")
    hint = node.get("description") if isinstance(node.get("description"), str) else None
    disclosure = node.get("x-disclosure") if top else None
    common: dict[str, Any] = {
        "name": path,
        "label": _label(name, node),
        "hint": hint,
        "required": required,
        "disclosure": disclosure if isinstance(disclosure, str) else None,
    }
    fmt = node.get("format")
    if fmt is not None and not (kind == "string" and fmt == "date"):
        raise UnsupportedSchema(f"{where}: format {fmt!r} cannot be rendered")
    if "enum" in node and kind != "string":
        raise UnsupportedSchema(f"{where}: an enum of type {kind!r} cannot be rendered")
    match kind:
        case "string":
            maxlength = node.get("maxLength")
            common["maxlength"] = maxlength if isinstance(maxlength, int) else None
            common["pattern"] = node["pattern"] if isinstance(node.get("pattern"), str) else None
            if "enum" in node:
                values = node["enum"]
                if not all(isinstance(v, str) for v in values):
                    raise UnsupportedSchema(f"{where}: enum values must be strings")
                return FormField(widget="select", options=_option_labels(values), **common)
            if fmt == "date":
                return FormField(widget="date", **common)
            long_text = isinstance(maxlength, int) and maxlength > TEXTAREA_FROM
            return FormField(widget="textarea" if long_text else "text", **common)
        case "integer" | "number":
            low = node.get("minimum", node.get("exclusiveMinimum"))
            high = node.get("maximum", node.get("exclusiveMaximum"))
            return FormField(
                widget="integer" if kind == "integer" else "number",
                minimum=low if _is_number(low) else None,
                maximum=high if _is_number(high) else None,
                **common,
            )
        case "boolean":
            return FormField(widget="radio_bool", options=BOOL_OPTIONS, **common)
        case "array":
            return _array_field(node, where, common)
        case "object":
            children = _object_fields(node, path + ".", where)
            return FormField(widget="fieldset", children=children, **common)
        case _:
            raise UnsupportedSchema(f"{where}: type {kind!r} cannot be rendered")


def _array_field(node: Mapping[str, Any], where: str, common: dict[str, Any]) -> FormField:
    items = node.get("items")
    if not isinstance(items, Mapping) or items.get("type") != "string":
        raise UnsupportedSchema(f"{where}/items: only an array of strings can be rendered")
    _check_keywords(items, f"{where}/items")
    if "format" in items:
        raise UnsupportedSchema(f"{where}/items: a format in array items cannot be rendered")
    max_items = node.get("maxItems")
    common["max_items"] = max_items if isinstance(max_items, int) else None
    maxlength = items.get("maxLength")
    common["maxlength"] = maxlength if isinstance(maxlength, int) else None
    common["pattern"] = items["pattern"] if isinstance(items.get("pattern"), str) else None
    if "enum" in items:
        values = items["enum"]
        if not all(isinstance(v, str) for v in values):
            raise UnsupportedSchema(f"{where}/items: enum values must be strings")
        return FormField(widget="checkboxes", options=_option_labels(values), **common)
    return FormField(widget="lines", **common)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- from submitted strings to content ------------------------------------------------------


class _Empty:
    """Nothing was filled in: the field is left out of the content."""


_EMPTY: Final = _Empty()


class _NotConverted(Exception):
    """A submitted string is not of the field's kind; the message says what is wanted."""


def parse_schema_form(
    fact_type: FactType, form: Mapping[str, Sequence[str]]
) -> tuple[dict[str, object], list[FormError]]:
    """The content the submitted form stands for, and every problem with it, in Dutch.

    The content is validated with ``fact_type.validate``, the API's own validation: what the
    form accepts the API accepts and the other way round. A field whose string could not be
    converted (no number, no date) gets that message only. Unknown form fields are ignored.
    """
    spec = _spec(fact_type)
    failed: dict[str, str] = {}
    content = _parse_object(spec.fields, form, failed, spec)
    found: list[tuple[int, FormError]] = [
        (spec.order[name], FormError(input_id(name), message)) for name, message in failed.items()
    ]
    try:
        fact_type.validate(content)
    except FactValidationError as exc:
        for problem in exc.errors:
            name = _name_at(spec, problem["pointer"])
            if name is not None and any(
                name == f or name.startswith(f + ".") or f.startswith(name + ".") for f in failed
            ):
                continue  # told once, by the conversion message
            if name is None:
                found.append((len(spec.order), FormError(None, _form_message(problem["problem"]))))
            else:
                message = _fact_message(spec, name, problem["problem"])
                found.append((spec.order[name], FormError(input_id(name), message)))
    errors: list[FormError] = []
    for _, error in sorted(found, key=lambda item: item[0]):
        if error not in errors:
            errors.append(error)
    return content, errors


def _parse_object(
    fields: Sequence[FormField],
    form: Mapping[str, Sequence[str]],
    failed: dict[str, str],
    spec: _Spec,
) -> dict[str, object]:
    content: dict[str, object] = {}
    for item in fields:
        key = item.name.rpartition(".")[2]
        if item.widget == "fieldset":
            before = len(failed)
            sub = _parse_object(item.children, form, failed, spec)
            if sub or (item.required and len(failed) == before):
                content[key] = sub
            continue
        raw = [v for v in form.get(item.name, ()) if isinstance(v, str)]
        try:
            value = _convert(item, raw)
        except _NotConverted as exc:
            failed[item.name] = str(exc).format(label=spec.message_label[item.name])
            continue
        if not isinstance(value, _Empty):
            content[key] = value
    return content


def _convert(item: FormField, raw: list[str]) -> object:
    first = raw[0] if raw else ""
    match item.widget:
        case "text" | "textarea":
            text = _text(first)
            return text if text else _EMPTY
        case "select":
            choice = first.strip()
            return choice if choice else _EMPTY
        case "date":
            day = first.strip()
            return parse_date(day) if day else _EMPTY
        case "integer" | "number":
            number = first.strip()
            return _parse_number(number, integer=item.widget == "integer") if number else _EMPTY
        case "radio_bool":
            answer = first.strip().casefold()
            if not answer:
                return _EMPTY
            if answer in _TRUE:
                return True
            if answer in _FALSE:
                return False
            raise _NotConverted("Kies ja of nee bij {label}.")
        case "checkboxes":
            chosen = [v.strip() for v in raw if v.strip()]
            return chosen if chosen else _EMPTY
        case "lines":
            lines = [line.strip() for v in raw for line in _text(v).split("\n") if line.strip()]
            return lines if lines else _EMPTY
        case _:  # pragma: no cover - schema_form builds no other widget for a leaf
            raise _NotConverted("Controleer {label}.")


def _text(value: str) -> str:
    """A submitted text: a browser's CRLF line ends as LF, surrounding blanks removed."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


_ISO_DATE_RE: Final = re.compile(r"\A([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_NL_DATE_RE: Final = re.compile(r"\A([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})\Z")


def parse_date(value: str) -> str:
    """``2026-12-05`` (``<input type=date>``) or ``5-12-2026`` / ``05-12-2026`` -> ISO."""
    text = value.strip()
    iso = _ISO_DATE_RE.match(text)
    dutch = _NL_DATE_RE.match(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3])).isoformat()
        if dutch:
            return date(int(dutch[3]), int(dutch[2]), int(dutch[1])).isoformat()
    except ValueError:
        pass
    raise _NotConverted("Vul bij {label} een datum in, bijvoorbeeld " + EXAMPLE_DATE + ".")


#: Dutch: ``1234``, ``1234,56``, ``1.234``, ``1.234,56`` (a dot groups thousands).
_NL_NUMBER_RE: Final = re.compile(r"\A[+-]?(?:[0-9]+|[0-9]{1,3}(?:\.[0-9]{3})+)(?:,[0-9]+)?\Z")
#: What ``<input type=number>`` and machines send: ``1234.56`` (``1.234`` is read as Dutch).
_DOT_NUMBER_RE: Final = re.compile(r"\A[+-]?[0-9]+(?:\.[0-9]+)?\Z")
_BLANKS: Final = str.maketrans({" ": "", "\u00a0": "", "\u202f": "", "€": "", "−": "-"})


def _parse_number(value: str, *, integer: bool) -> int | float:
    wanted = "een geheel getal" if integer else "een getal"
    refused = _NotConverted("Vul bij {label} " + wanted + " in.")
    text = value.translate(_BLANKS)
    if _NL_NUMBER_RE.match(text):
        text = text.replace(".", "").replace(",", ".")
    elif not _DOT_NUMBER_RE.match(text):
        raise refused
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the patterns admit only decimals
        raise refused from None
    if number == number.to_integral_value():
        return int(number)
    if integer:
        raise refused
    result = float(number)
    if not math.isfinite(result):
        raise refused
    return result


# --- from content back to the form ----------------------------------------------------------


def form_values(
    fact_type: FactType,
    content: Mapping[str, object] | None = None,
    submitted: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str | list[str]]:
    """Input name -> value to fill a form with: from ``content`` (a fact, an example), and
    over that what was ``submitted`` (as typed, so a refused form shows what the user wrote).

    Checkboxes get a list of the values ticked, every other input a string; a field without
    a value is absent. Only the form's own fields are taken from ``submitted``.
    """
    spec = _spec(fact_type)
    values: dict[str, str | list[str]] = {}
    if content is not None:
        _values_of(spec.fields, content, values)
    if submitted is not None:
        for name, item in spec.by_name.items():
            if item.widget == "fieldset" or name not in submitted:
                continue
            raw = [v for v in submitted[name] if isinstance(v, str)]
            if item.widget == "checkboxes":
                values[name] = raw
            elif item.widget == "lines":
                values[name] = "\n".join(raw)
            else:
                values[name] = raw[0] if raw else ""
    return values


def _values_of(
    fields: Sequence[FormField], content: Mapping[str, object], out: dict[str, str | list[str]]
) -> None:
    for item in fields:
        key = item.name.rpartition(".")[2]
        if key not in content:
            continue
        value = content[key]
        if item.widget == "fieldset":
            if isinstance(value, Mapping):
                _values_of(item.children, value, out)
        elif item.widget == "checkboxes":
            out[item.name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        elif item.widget == "lines":
            out[item.name] = (
                "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
            )
        elif item.widget == "radio_bool" and isinstance(value, bool):
            out[item.name] = "ja" if value else "nee"
        elif item.widget in ("integer", "number") and _is_number(value):
            out[item.name] = _nl_number(value)  # type: ignore[arg-type]
        else:
            out[item.name] = str(value)


def _nl_number(value: float, *, grouped: bool = False) -> str:
    """3120.5 -> ``3120,5``; with ``grouped``, 1000000 -> ``1.000.000`` (for messages)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) or value.is_integer():
        whole = int(value)
        return f"{whole:,}".replace(",", ".") if grouped else str(whole)
    text = format(Decimal(repr(value)), "f")
    return text.replace(".", ",")


# --- the validator's problems in Dutch ------------------------------------------------------


def _name_at(spec: _Spec, pointer: str) -> str | None:
    """The deepest form field an RFC 6901 pointer of the validator points into."""
    name: str | None = None
    for segment in pointer.split("/")[1:]:
        candidate = segment if name is None else f"{name}.{segment}"
        if candidate not in spec.by_name:
            break
        name = candidate
    return name


#: The validator's sentences (hub.facts.catalog._problem_text), to recognise the keyword.
_PROBLEMS: Final = (
    ("required", re.compile(r"\Ais required\Z")),
    ("enum", re.compile(r"\Amust be one of: ")),
    ("maxLength", re.compile(r"\Amust be at most (\d+) characters long\Z")),
    ("minLength", re.compile(r"\Amust be at least (\d+) characters long\Z")),
    ("empty", re.compile(r"\Amust not be empty\Z")),
    ("pattern", re.compile(r"\Amust match the pattern ")),
    ("date", re.compile(r"\Amust be a date in the form YYYY-MM-DD\Z")),
    ("maximum", re.compile(r"\Amust be at most (-?[0-9.eE+]+)\Z")),
    ("minimum", re.compile(r"\Amust be at least (-?[0-9.eE+]+)\Z")),
    ("exclusiveMinimum", re.compile(r"\Amust be greater than (-?[0-9.eE+]+)\Z")),
    ("exclusiveMaximum", re.compile(r"\Amust be less than (-?[0-9.eE+]+)\Z")),
    ("maxItems", re.compile(r"\Amust have at most (\d+) items\Z")),
    ("minItems", re.compile(r"\Amust have at least (\d+) items\Z")),
    ("uniqueItems", re.compile(r"\Amust not contain duplicate items\Z")),
)

#: Patterns used by the shipped schemas, with what they ask in words.
_PATTERN_MESSAGES: Final[Mapping[str, str]] = {
    r"^\+?[0-9][0-9 -]{5,18}$": (
        "Vul bij {label} een telefoonnummer in van cijfers, eventueel met spaties of streepjes"
        " en een + vooraan, bijvoorbeeld 071 1234567."
    ),
}

_CHOICE_WIDGETS: Final = frozenset({"select", "radio_bool", "checkboxes"})


def _fact_message(spec: _Spec, name: str, problem: str) -> str:
    item = spec.by_name[name]
    label = spec.message_label[name]
    keyword, number = _keyword_of(problem)
    widget = item.widget
    if keyword in ("required", "empty") or (keyword == "minLength" and number == "1"):
        if widget in _CHOICE_WIDGETS:
            return f"Maak een keuze bij {label}."
        return f"Vul {label} in."
    many = widget == "checkboxes"
    match keyword:
        case "enum":
            return f"Kies een van de mogelijkheden bij {label}."
        case "maxLength":
            unit = "tekens per regel" if widget == "lines" else "tekens"
            return f"Gebruik hoogstens {_count(number)} {unit} bij {label}."
        case "minLength":
            unit = "tekens per regel" if widget == "lines" else "tekens"
            return f"Gebruik ten minste {_count(number)} {unit} bij {label}."
        case "pattern":
            known = _PATTERN_MESSAGES.get(item.pattern or "")
            return (
                known.format(label=label)
                if known
                else f"Controleer de schrijfwijze van {label}: dit is niet de gevraagde vorm."
            )
        case "date":
            return f"Vul bij {label} een datum in, bijvoorbeeld {EXAMPLE_DATE}."
        case "minimum":
            return f"Vul bij {label} een getal in van ten minste {_count(number)}."
        case "maximum":
            return f"Vul bij {label} een getal in van hoogstens {_count(number)}."
        case "exclusiveMinimum":
            return f"Vul bij {label} een getal in groter dan {_count(number)}."
        case "exclusiveMaximum":
            return f"Vul bij {label} een getal in kleiner dan {_count(number)}."
        case "maxItems":
            if many:
                return f"Kies hoogstens {_count(number)} mogelijkheden bij {label}."
            return f"Vul hoogstens {_count(number)} regels in bij {label}."
        case "minItems":
            if many:
                return f"Kies ten minste {_count(number)} mogelijkheden bij {label}."
            return f"Vul ten minste {_count(number)} regels in bij {label}."
        case "uniqueItems":
            if many:
                return f"Kies elke mogelijkheid maar één keer bij {label}."
            return f"Vul elke regel maar één keer in bij {label}."
        case _:
            return f"Controleer wat u hebt ingevuld bij {label}."


def _keyword_of(problem: str) -> tuple[str | None, str | None]:
    for keyword, pattern in _PROBLEMS:
        matched = pattern.match(problem)
        if matched:
            return keyword, matched.group(1) if matched.groups() else None
    return None, None


def _count(number: str | None) -> str:
    """A bound from the schema, the Dutch way (``1000000`` -> ``1.000.000``, ``0.5`` -> 0,5)."""
    if number is None:  # pragma: no cover - every bounded keyword captures its number
        return ""
    try:
        value = float(number)
    except ValueError:  # pragma: no cover
        return number
    return _nl_number(value, grouped=True)


def _form_message(problem: str) -> str:
    if problem.startswith("more problems were found"):
        return "Er zijn nog meer fouten gevonden; verbeter eerst deze en verstuur opnieuw."
    return "Het formulier kon niet worden verwerkt; controleer wat u hebt ingevuld."


# --- intake (aanmelding) --------------------------------------------------------------------

#: The intake form's fields, with their Dutch labels (`CaseIn` and `SubjectIn`).
INTAKE_LABELS: Final[Mapping[str, str]] = {
    "kind": "Soort casus",
    "proposed_table": "Voorgestelde tafel",
    "reason": "Reden van aanmelding",
    "subjects": "Betrokkenen",
    "role_in_case": "Rol in de casus",
    "bsn": "BSN",
    "name": "Naam",
    "date_of_birth": "Geboortedatum",
    "address": "Adres",
}

#: A subject row's inputs are named ``subjects-<row>-<field>``.
INTAKE_SUBJECT_FIELDS: Final = ("role_in_case", "bsn", "name", "date_of_birth", "address")
#: How many subject rows the intake form offers; empty rows are skipped.
MAX_SUBJECT_ROWS: Final = 6

#: The kinds of case as the intake form offers them (docs/glossary.md: casus).
CASE_KIND_NL: Final[Mapping[CaseKind, str]] = {
    CaseKind.PERSON: "Persoon",
    CaseKind.FAMILY: "Gezin of systeem",
    CaseKind.GROUP: "Groep",
    CaseKind.AREA: "Gebied",
}

#: The tables, named as in the network's policy data (policies/data/network.json).
TABLE_NL: Final[Mapping[TableId, str]] = {
    TableId.YOUTH: "Jeugdtafel",
    TableId.ADULTS: "Volwassenentafel",
    TableId.DOMESTIC_VIOLENCE: "Tafel huiselijk geweld",
    TableId.MULTI_PROBLEM: "O3-tafel multiproblematiek",
}

_INTAKE_CHOICES: Final = frozenset({"kind", "proposed_table"})
_INTAKE_ORDER: Final = ("kind", "proposed_table", "reason", "subjects")


def intake_options() -> dict[str, list[tuple[str, str]]]:
    """(value, label) of the intake form's selects: ``kind`` and ``proposed_table``."""
    return {
        "kind": [(k.value, label) for k, label in CASE_KIND_NL.items()],
        "proposed_table": [(t.value, label) for t, label in TABLE_NL.items()],
    }


def _subject_name(row: int, field: str) -> str:
    return f"subjects-{row}-{field}"


def _subject_label(row: int, field: str) -> str:
    return f"{INTAKE_LABELS.get(field, _readable(field))} van betrokkene {row + 1}"


def _intake_order(name: str) -> tuple[int, int, int]:
    if name.startswith("subjects-"):
        _, row, field = name.split("-", 2)
        position = INTAKE_SUBJECT_FIELDS.index(field) if field in INTAKE_SUBJECT_FIELDS else 99
        return (len(_INTAKE_ORDER), int(row) if row.isdigit() else 0, position)
    top = _INTAKE_ORDER.index(name) if name in _INTAKE_ORDER else len(_INTAKE_ORDER) + 1
    return (top, 0, 0)


def intake_errors(exc: ValidationError, rows: Sequence[int] | None = None) -> list[FormError]:
    """Pydantic's errors of `CaseIn` in Dutch, at the intake form's input ids.

    ``rows``: the form row of each subject in the model (empty rows are skipped, so the
    model's ``subjects[0]`` may be row 2 of the form); without it the index is the row.
    No message repeats the submitted value.
    """
    found: list[tuple[tuple[int, int, int], FormError]] = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        kind = error["type"]
        ctx = error.get("ctx") or {}
        if len(loc) >= 3 and loc[0] == "subjects" and isinstance(loc[1], int):
            row = rows[loc[1]] if rows is not None and 0 <= loc[1] < len(rows) else loc[1]
            field = str(loc[2])
            name, label = _subject_name(row, field), _subject_label(row, field)
        elif loc and isinstance(loc[0], str) and loc[0] in INTAKE_LABELS:
            field = loc[0]
            name, label = field, INTAKE_LABELS[field]
        else:
            message = "Het formulier kon niet worden verwerkt; controleer wat u hebt ingevuld."
            found.append(((len(_INTAKE_ORDER) + 2, 0, 0), FormError(None, message)))
            continue
        message = _intake_message(field, label, kind, ctx)
        found.append((_intake_order(name), FormError(input_id(name), message)))
    errors: list[FormError] = []
    for _, item in sorted(found, key=lambda pair: pair[0]):
        if item not in errors:
            errors.append(item)
    return errors


def _intake_message(field: str, label: str, kind: str, ctx: Mapping[str, Any]) -> str:
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return f"Maak een keuze bij {label}." if field in _INTAKE_CHOICES else f"Vul {label} in."
    if kind in ("enum", "literal_error"):
        return f"Kies een van de mogelijkheden bij {label}."
    if kind == "string_too_long":
        return f"Gebruik hoogstens {_count(str(ctx.get('max_length')))} tekens bij {label}."
    if kind == "string_too_short":
        return f"Gebruik ten minste {_count(str(ctx.get('min_length')))} tekens bij {label}."
    if kind == "too_long" and field == "subjects":
        return f"Meld hoogstens {_count(str(ctx.get('max_length')))} betrokkenen aan."
    if kind == "string_pattern_mismatch" and field == "role_in_case":
        return f"Gebruik bij {label} alleen letters zonder accenten, bijvoorbeeld ouder of kind."
    if kind.startswith("date_") or (field == "date_of_birth" and kind.startswith("datetime_")):
        return f"Vul bij {label} een datum in, bijvoorbeeld {EXAMPLE_DATE}."
    return f"Controleer wat u hebt ingevuld bij {label}."


# The intake service refuses a subject whose BSN fails `hub.crypto.blind_index.normalize_bsn`
# or whose name `normalize_name` reduces to nothing (`hub.cases.intake.InvalidSubject`, with no
# field named). hub.web may not import hub.crypto (the import contract of ADR 0015), so these
# two mirror those rules to say which input is wrong; tests/web/test_forms.py checks that they
# agree with hub.crypto on arbitrary input. The service stays the judge.

_BSN_WEIGHTS: Final = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def _bsn_ok(value: str) -> bool:
    """Whether `normalize_bsn` would accept the BSN (8 or 9 digits, the 11-proef)."""
    text = unicodedata.normalize("NFKC", value)
    digits = "".join(
        ch for ch in text if not (ch.isspace() or ch == "." or unicodedata.category(ch) == "Pd")
    )
    if not (digits.isascii() and digits.isdigit() and len(digits) in (8, 9)):
        return False
    digits = digits.zfill(9)
    total = sum(w * int(d) for w, d in zip(_BSN_WEIGHTS, digits, strict=True))
    return total % 11 == 0 and digits != "000000000"


def _name_ok(value: str) -> bool:
    """Whether `normalize_name` would keep anything of the name (a letter or a digit)."""
    text = unicodedata.normalize("NFKD", value)
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


def _first(form: Mapping[str, Sequence[str]], name: str) -> str:
    values = form.get(name, ())
    for value in values:
        if isinstance(value, str):
            return value
    return ""


def parse_intake_form(form: Mapping[str, Sequence[str]]) -> tuple[CaseIn | None, list[FormError]]:
    """The `CaseIn` of a submitted intake form, or None and every problem in Dutch.

    Inputs: ``kind``, ``proposed_table``, ``reason`` and per subject row ``subjects-<n>-``
    + ``role_in_case`` | ``bsn`` | ``name`` | ``date_of_birth`` | ``address`` (n from 0 to
    `MAX_SUBJECT_ROWS` - 1); a row left entirely empty is skipped. A subject needs a valid BSN
    or a name with a date of birth, as the intake service demands
    (`hub.cases.intake.subject_pseudonyms`); this form says so at the input concerned.
    """
    data: dict[str, object] = {}
    for key in ("kind", "proposed_table"):
        choice = _first(form, key).strip()
        if choice:
            data[key] = choice
    reason = _text(_first(form, "reason"))
    if reason:
        data["reason"] = reason
    own: list[tuple[tuple[int, int, int], FormError]] = []

    def refuse(row: int, field: str, message: str) -> None:
        name = _subject_name(row, field)
        own.append((_intake_order(name), FormError(input_id(name), message)))

    subjects: list[dict[str, object]] = []
    rows: list[int] = []
    for row in range(MAX_SUBJECT_ROWS):
        raw = {f: _text(_first(form, _subject_name(row, f))) for f in INTAKE_SUBJECT_FIELDS}
        if not any(raw.values()):
            continue
        subject: dict[str, object] = {}
        role = "_".join(raw["role_in_case"].casefold().split())
        if role:
            subject["role_in_case"] = role
        bsn, name, born = raw["bsn"], raw["name"], raw["date_of_birth"]
        if bsn:
            subject["bsn"] = bsn
            if not _bsn_ok(bsn):
                refuse(
                    row,
                    "bsn",
                    f"Vul bij {_subject_label(row, 'bsn')} een geldig BSN in: 9 cijfers die"
                    " voldoen aan de elfproef.",
                )
        if name:
            subject["name"] = name
            if not _name_ok(name):
                refuse(
                    row, "name", f"Vul bij {_subject_label(row, 'name')} een naam met letters in."
                )
        if born:
            try:
                subject["date_of_birth"] = parse_date(born)
            except _NotConverted as exc:
                refuse(
                    row,
                    "date_of_birth",
                    str(exc).format(label=_subject_label(row, "date_of_birth")),
                )
        if raw["address"]:
            subject["address"] = raw["address"]
        if not bsn:
            if name and not born:
                refuse(
                    row,
                    "date_of_birth",
                    f"Vul {_subject_label(row, 'date_of_birth')} in, of een BSN: met alleen een"
                    " naam is een betrokkene niet te herkennen.",
                )
            elif born and not name:
                refuse(row, "name", f"Vul {_subject_label(row, 'name')} in, of een BSN.")
            elif not name:
                refuse(
                    row,
                    "bsn",
                    f"Vul van betrokkene {row + 1} een BSN in, of een naam met een geboortedatum.",
                )
        subjects.append(subject)
        rows.append(row)
    data["subjects"] = subjects
    case: CaseIn | None = None
    found = list(own)
    told = {error.field for _, error in own}
    try:
        case = CaseIn.model_validate(data)
    except ValidationError as exc:
        found.extend(
            (_intake_order(e.field[len("field-") :]) if e.field else (99, 0, 0), e)
            for e in intake_errors(exc, rows)
            if e.field is None or e.field not in told
        )
    if not found:
        return case, []
    errors: list[FormError] = []
    for _, error in sorted(found, key=lambda pair: pair[0]):
        if error not in errors:
            errors.append(error)
    return None, errors

"""The provider mapping YAML: which export column is which contract field and indicator.

Shape (see templates/provider_mapping_example.yaml for a documented example)::

    sheet: RHIs                    # xlsx only; default the first sheet
    la_code: E08000025             # or fields.la_code (a column), or --la-code
    true_values: [Yes, Y, x, ✓, 1, TRUE]    # ticks in indicator and yes/no columns
    false_values: [No, N, 0, FALSE]
    fields:                        # contract field: column, or {column, format, values}
      child_id: Young Person ID
      completed_at: {column: Date of RHI, format: "%d/%m/%Y"}
    episodes:                      # optional: one group per episode an interview addresses
      - {episode_id: Episode ref, missing_start: {column: Date missing, format: "%d/%m/%Y %H:%M"}}
    indicators: {cse_victim: CSE - victim}
    values: {status: {Completed: completed}}   # translations, by field
    identifying: [Name, Address]   # dropped unless --keep-identifiers
    notes: Worker notes            # free text; dropped unless --keep-identifiers

Episode fields given under ``fields`` form a single episode group.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from analysis import vocab
from analysis.importers.common import ImportFailure
from analysis.limits import InputTooLarge, load_yaml

CHILD_FIELDS = ("child_id", "sex", "date_of_birth", "uasc", "ethnicity")
RHI_FIELDS = ("rhi_id", "status", "offered_at", "completed_at", "decline_reason", "legal_status",
              "consent_to_share", "confidentiality_overridden", "shared_wider", "follow_up", "helpline_signposted")
EPISODE_FIELDS = ("episode_id", "missing_start", "missing_end", "episode_type", "police_risk", "missing_from",
                  "found_location", "la_code")
GROUP_FIELDS = EPISODE_FIELDS + ("legal_status",)
REQUIRED = ("child_id", "sex", "date_of_birth", "status")
DEFAULT_TRUE = ("yes", "y", "x", "✓", "✔", "1", "true", "t", "ticked")
DEFAULT_FALSE = ("no", "n", "0", "false", "f")


@dataclass
class Field:
    target: str          # contract field
    column: str          # export column
    key: str             # where in the mapping, e.g. "fields.completed_at" or "episodes[1].missing_start"
    format: str | None = None
    values: dict = field(default_factory=dict)


@dataclass
class Mapping:
    path: Path
    fields: dict[str, Field]
    episodes: list[dict[str, Field]]
    indicators: dict[str, Field]
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    sheet: str | int | None = None
    la_code: str | None = None
    identifying: tuple[str, ...] = ()
    notes: str | None = None

    def named_columns(self) -> set[str]:
        cols = {f.column for f in self.fields.values()} | {f.column for f in self.indicators.values()}
        cols |= {f.column for group in self.episodes for f in group.values()}
        return cols | ({self.notes} if self.notes else set())


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping YAML; ImportFailure naming the file and key on any fault."""
    path = Path(path)
    if not path.is_file():
        raise ImportFailure(f"--mapping {path}: no such file")
    try:  # bounded: at most 1 MiB, no aliases (a "billion laughs" file), at most 20 levels deep
        data = load_yaml(path, "mapping file")
    except (InputTooLarge, OSError) as exc:
        raise ImportFailure(f"--mapping {exc}" if isinstance(exc, InputTooLarge)
                            else f"--mapping {path}: cannot be read ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise ImportFailure(f"{path.name}: expected a mapping with keys fields, indicators, ...")
    known = {"sheet", "la_code", "true_values", "false_values", "fields", "episodes", "indicators", "values",
             "identifying", "notes", "description"}
    for key in data:
        if key not in known:
            raise ImportFailure(f"{path.name}: unknown key {key!r}{_hint(key, known)}")
    values = data.get("values") or {}
    if not isinstance(values, dict):
        raise ImportFailure(f"{path.name}, values: expected field: {{export value: contract value}}")

    raw_fields = data.get("fields") or {}
    if not isinstance(raw_fields, dict):
        raise ImportFailure(f"{path.name}, fields: expected contract field: export column")
    fields, single_group = {}, {}
    for target, spec in raw_fields.items():
        allowed = CHILD_FIELDS + RHI_FIELDS + EPISODE_FIELDS
        if target not in allowed:
            raise ImportFailure(f"{path.name}, fields.{target}: not a contract field{_hint(target, allowed)}; "
                                f"fields are {', '.join(allowed)}")
        f = _field(path, f"fields.{target}", target, spec, values)
        (single_group if target in EPISODE_FIELDS else fields)[target] = f
    for target in REQUIRED:
        if target not in fields:
            raise ImportFailure(f"{path.name}, fields.{target}: required (which export column holds {target}?)")

    groups = [single_group] if single_group else []
    for i, group in enumerate(data.get("episodes") or [], start=1):
        if not isinstance(group, dict):
            raise ImportFailure(f"{path.name}, episodes[{i}]: expected episode field: export column")
        parsed = {}
        for target, spec in group.items():
            if target not in GROUP_FIELDS:
                raise ImportFailure(f"{path.name}, episodes[{i}].{target}: not an episode field"
                                    f"{_hint(target, GROUP_FIELDS)}")
            parsed[target] = _field(path, f"episodes[{i}].{target}", target, spec, values)
        groups.append(parsed)
    for i, group in enumerate(groups, start=1):
        if "missing_start" not in group:
            where = "fields" if (single_group and i == 1) else f"episodes[{i}]"
            raise ImportFailure(f"{path.name}, {where}: an episode needs missing_start (the date it began)")

    indicators = {}
    declared = set(vocab.INDICATORS)
    for name, spec in (data.get("indicators") or {}).items():
        if name not in declared:
            raise ImportFailure(f"{path.name}, indicators.{name}: not an indicator of the contract"
                                f"{_hint(name, declared)}")
        indicators[name] = _field(path, f"indicators.{name}", name, spec, {})

    def words(key, default):
        items = data.get(key)
        if items is None:
            return default
        if not isinstance(items, list):
            raise ImportFailure(f"{path.name}, {key}: expected a list, e.g. [Yes, Y, x]")
        for v in items:
            _no_bool(path, key, v)
        return tuple(str(v).strip().lower() for v in items)

    ident = data.get("identifying") or []
    if not isinstance(ident, list):
        raise ImportFailure(f"{path.name}, identifying: expected a list of export columns")
    return Mapping(path, fields, groups, indicators, words("true_values", DEFAULT_TRUE),
                   words("false_values", DEFAULT_FALSE), data.get("sheet"),
                   str(data["la_code"]).strip() if data.get("la_code") else None,
                   tuple(str(c) for c in ident), str(data["notes"]) if data.get("notes") else None)


def _field(path: Path, key: str, target: str, spec, values: dict) -> Field:
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("column"), str) or not spec["column"].strip():
        raise ImportFailure(f"{path.name}, {key}: expected an export column name, or {{column: ..., format: ...}}")
    extra = set(spec) - {"column", "format", "values"}
    if extra:
        raise ImportFailure(f"{path.name}, {key}: unknown setting(s) {', '.join(sorted(extra))} "
                            "(use column, format, values)")
    translations = dict(values.get(target) or {})
    translations.update(spec.get("values") or {})
    for k, v in translations.items():
        _no_bool(path, f"values.{target}", k)
        _no_bool(path, f"values.{target}", v)
    return Field(target, spec["column"].strip(), key, spec.get("format"),
                 {str(k): ("" if v is None else str(v)) for k, v in translations.items()})


def _hint(name, choices) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _no_bool(path: Path, key: str, value) -> None:
    """YAML reads unquoted Yes/No/On/Off as true/false: ask for quotes rather than guess."""
    if isinstance(value, bool):
        raise ImportFailure(f"{path.name}, {key}: {value!r} came from an unquoted yes/no word; "
                            'put it in quotes, e.g. "Yes" or "No"')

"""Problems found in input data, and the exception that carries them.

A problem names the table (file or sheet), the row as a person sees it in
that file, the column, the bad value and what was expected. The command line
prints these instead of a traceback.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    table: str           # table name of the contract, e.g. "episodes"
    source: str          # what the user sees: "episodes.csv" or "data.xlsx, sheet episodes"
    row: int | None      # row number as seen in the file (header is row 1); None = whole file or table
    column: str | None   # None = whole row or whole table
    value: str | None    # the offending value, as read
    expected: str        # what was expected, in plain words

    def location(self) -> str:
        where = self.source
        if self.row is not None:
            where += f", row {self.row}"
        elif self.column:
            where += ", header"  # a file without a header row (Parquet): its column names
        if self.column:
            where += f", column {self.column}"
        if self.row == 1 and self.value is None:
            where += " (header row)"
        return where

    def __str__(self) -> str:
        shown = "" if self.value is None else f": value {_quote(self.value)}"
        return f"{self.location()}{shown}: expected {self.expected}"


def _quote(value: str) -> str:
    text = value if len(value) <= 60 else value[:57] + "..."
    return repr(text)


class DatasetError(Exception):
    """Raised when a dataset cannot be analysed; carries every problem found."""

    def __init__(self, problems: list[Problem], path: str = ""):
        self.problems = list(problems)
        self.path = path
        super().__init__(f"{len(self.problems)} problem(s) in {path or 'dataset'}")

    def summary_lines(self, limit_per_kind: int = 20) -> list[str]:
        """Every problem, or with a cap per (table, column, expected) kind."""
        lines: list[str] = []
        shown: Counter = Counter()
        hidden: Counter = Counter()
        for problem in self.problems:
            kind = (problem.source, problem.column, problem.expected)
            if limit_per_kind and shown[kind] >= limit_per_kind:
                hidden[kind] += 1
                continue
            shown[kind] += 1
            lines.append(str(problem))
        for (source, column, expected), n in hidden.items():
            col = f", column {column}" if column else ""
            lines.append(f"{source}{col}: {n} more row(s) where expected {expected}")
        return lines


@dataclass
class Problems:
    """Collects problems while a dataset is read and checked."""

    items: list[Problem] = field(default_factory=list)

    def add(self, *args, **kwargs) -> None:
        self.items.append(Problem(*args, **kwargs))

    def extend(self, problems) -> None:
        self.items.extend(problems)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

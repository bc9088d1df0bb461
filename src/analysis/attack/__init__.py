"""An independent disclosure attacker: can anything a run publishes reveal a small count?

The standard (data contract, section 4): after publication, for each suppressed
cell (``c``), the smallest and largest whole values consistent with everything
published must differ, and the largest must be at least ``min_cell``.

This package reads only the published files (``cells.csv``, ``relations.csv``,
``statistics.csv``, ``publication.json``) or a folder of hand-made tables, and
shares no code with the suppression that wrote them, so that it checks the
suppression rather than repeating it. See docs/disclosure-audit.md.

- ``read``: reading and validating a run's publication folder;
- ``handmade``: relations inferred from DfE tidy files and simple cross-tabulations;
- ``system``: the linear system (unknown cells, relations, rounded percentages) and its components;
- ``solve``: smallest and largest whole value of each suppressed cell (LP screen, MILP where needed);
- ``report``: the result, its printed summary and the command.
"""

from analysis.attack.read import Publication, PublicationError, load_publication
from analysis.attack.report import AuditResult, audit_command, audit_publication

__all__ = ["AuditResult", "Publication", "PublicationError", "audit_command", "audit_publication",
           "load_publication"]

"""Publication: the numbers of a run as one protected set of cells, and the files drawn from it.

``build`` computes every table of every scope and registers its counts as
cells (``cells``, ``tables``); ``suppression`` hides small counts and what
would reveal them across the whole run; ``publication`` gives each table as
published; ``files`` writes the run's open-data publication.
"""

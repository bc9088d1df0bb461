"""Reproducible analysis of return home interviews (RHIs) for children missing from home or care.

Load and validate a dataset in the canonical form (``load_dataset``), choose
what to analyse (``Params``), and compute populations, figures and the row
accounting from records. See README.md and docs/.
"""

from analysis.errors import DatasetError, Problem
from analysis.definitions.populations import Params, Populations
from analysis.dataset.validate import Dataset, load_dataset

__all__ = ["Dataset", "DatasetError", "Params", "Populations", "Problem", "load_dataset"]
__version__ = "0.1.0"

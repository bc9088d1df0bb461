"""Synthetic data: a study-sized dataset calibrated to the study, and a national one sized from DfE figures."""

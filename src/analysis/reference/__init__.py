"""Published figures the analysis is compared with: the study's own, and the DfE's."""

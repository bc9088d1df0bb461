"""Statistics: intervals, tests, models and funnel limits, each with its reference."""

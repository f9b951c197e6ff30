"""Chart and analysis data computed apart from drawing it: plain data in, plain data out.

The server's history endpoint and the web UI share these functions, and tests
check their data, not pixels. Nothing here imports a web framework; Optuna and
scikit-learn (param importance) are imported only when used.
"""

from ragtrack.analysis.charts import SeriesChart, debiased_ema, series_chart
from ragtrack.analysis.comparison import (
    ABSENT,
    ParamColumn,
    ParamRow,
    ParamTable,
    objective_candidates,
    parallel_coordinates,
    param_column,
    param_columns,
    param_table,
    param_text,
    scatter,
)
from ragtrack.analysis.downsample import downsample_series, lttb_indices
from ragtrack.analysis.importance import ParamImportance, param_importance

__all__ = [
    "ABSENT",
    "ParamColumn",
    "ParamImportance",
    "ParamRow",
    "ParamTable",
    "SeriesChart",
    "debiased_ema",
    "downsample_series",
    "lttb_indices",
    "objective_candidates",
    "parallel_coordinates",
    "param_column",
    "param_columns",
    "param_importance",
    "param_table",
    "param_text",
    "scatter",
    "series_chart",
]

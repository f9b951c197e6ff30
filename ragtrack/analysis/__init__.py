"""Chart data computed apart from drawing it: plain arrays in, plain arrays out.

The server's history endpoint and (later) the UI's charts share these functions,
and tests check their data, not pixels.
"""

from ragtrack.analysis.downsample import downsample_series, lttb_indices

__all__ = ["downsample_series", "lttb_indices"]

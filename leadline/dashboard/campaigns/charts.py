"""The dashboard's charts: the shared inline-SVG charts of leadline.core.charts."""

from leadline.core.charts import Bar, column_chart, nice_ticks, row_chart

__all__ = ["Bar", "column_chart", "nice_ticks", "row_chart"]

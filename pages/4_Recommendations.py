"""Recommendations: what to do next, ranked; each with its evidence, example items and a relabel batch."""

from consistency.ui import recommendations
from consistency.ui.overview import get_analysis
from consistency.ui.page import setup_page

ctx = setup_page("Recommendations", controls=("level",))
result = get_analysis(ctx)
recommendations.table_panel(ctx, result)
recommendations.details_panel(ctx, result)

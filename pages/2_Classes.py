"""Classes: agreement per class, people against the model, one class in detail, the planner."""

from consistency.ui import classes
from consistency.ui.overview import get_analysis
from consistency.ui.page import setup_page

ctx = setup_page("Classes", controls=("class", "level"))
result = get_analysis(ctx)
classes.agreement_panel(ctx, result)
classes.detail_panel(ctx, result)
classes.hlp_panel(ctx, result)
classes.planner_panel(ctx)

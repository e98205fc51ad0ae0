"""Labelers: agreement, gold accuracy, speed, pairwise kappa, and one labeler in focus."""

from consistency.ui import labelers
from consistency.ui.page import setup_page

ctx = setup_page("Labelers", controls=("labeler",))
ctx.require_dataset()
table = labelers.table_panel(ctx)
if table is not None and not table.empty:
    labelers.pairs_panel(ctx, table["labeler_id"].astype(str).tolist())
    labelers.focus_panel(ctx, table)

"""Slices and rounds: alpha per metadata value and per labeling round; two rounds compared."""

from consistency.ui import slices
from consistency.ui.page import setup_page

ctx = setup_page("Slices and rounds", controls=("by", "level"))
ctx.require_dataset()
slices.slices_panel(ctx)
slices.rounds_panel(ctx)
slices.compare_panel(ctx)

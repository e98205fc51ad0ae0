"""Confusion: which classes labelers give to the same items, and what merging two would do."""

from consistency.ui import confusion
from consistency.ui.page import setup_page

ctx = setup_page("Confusion", controls=("pair", "normalize", "level"))
summary = confusion.summary_or_stop(ctx)
confusion.heatmap_panel(ctx, summary)
confusion.pairs_panel(ctx, summary)
confusion.pair_panel(ctx)

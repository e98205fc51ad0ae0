"""Items: the most disputed items, and one item in detail (labels, consensus, gold, model, image)."""

from consistency.ui import items
from consistency.ui.page import setup_page

ctx = setup_page("Items", controls=("class", "labeler"))
ctx.require_dataset()
items.focus_panel(ctx)
items.disputed_panel(ctx)

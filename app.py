"""Overview: the first page of the dashboard (run with ``streamlit run app.py``)."""

from consistency.ui import overview
from consistency.ui.page import setup_page

ctx = setup_page("Overview", controls=("level",))
if ctx.dataset is not None:
    overview.summary_panel(ctx)
    overview.design_panel(ctx)
    result = overview.get_analysis(ctx)
    overview.agreement_panel(ctx, result)
    overview.recommendations_panel(ctx, result)
overview.datasets_panel(ctx)

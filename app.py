"""Overview: the first page of the dashboard (run with ``streamlit run app.py``)."""

from consistency.ui import overview
from consistency.ui.page import setup_page

ctx = setup_page("Overview", controls=("level",))
if ctx.dataset is not None:
    glance = overview.get_glance(ctx)
    overview.summary_panel(ctx, glance)
    overview.design_panel(ctx, glance)
    overview.analysis_panels(ctx, glance)
overview.datasets_panel(ctx)

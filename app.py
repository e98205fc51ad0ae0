"""Overview: the first page of the dashboard (run with ``streamlit run app.py``)."""

from consistency.ui import overview
from consistency.ui.page import setup_page

ctx = setup_page("Overview")
if ctx.dataset is not None:
    overview.summary_panel(ctx)
overview.datasets_panel(ctx)

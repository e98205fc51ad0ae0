"""The dashboard's library side (Streamlit UI code lives here, pages stay thin).

* :mod:`consistency.ui.state`: the view as a pure value, to and from the URL
  query string, described in one sentence (no Streamlit).
* :mod:`consistency.ui.catalog`: what the store holds, to check a view against.
* :mod:`consistency.ui.page`: ``setup_page``, the first call of every page.
* :mod:`consistency.ui.data`: the Data page's imports and attachments.
* :mod:`consistency.ui.overview`: the Overview page's panels.
* :mod:`consistency.ui.fmt`: number formatting and the colour-blind-safe palette.
"""

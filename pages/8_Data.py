"""Data: import an export, attach gold labels or predictions, see provenance and lineage."""

from collections.abc import Callable

import streamlit as st

from consistency.io import FORMATS
from consistency.store import Store
from consistency.ui import data
from consistency.ui.fmt import md
from consistency.ui.overview import datasets_table
from consistency.ui.page import go, setup_page

ctx = setup_page("Data")
DETECT = "detect"
LIMIT_MB = data.max_upload_mb(st.get_option("server.maxUploadSize"))


def show(kind: str, outcome: data.Outcome) -> None:
    """The result of an import or attachment: summary and warnings, or the problems."""
    if outcome.ok and outcome.report is not None:
        st.success("  \n".join(md(line) for line in outcome.report.summary().split("\n")))
        if len(outcome.warnings):
            st.warning(f"{len(outcome.warnings)} warning(s): the data was kept; check these rows.")
            st.dataframe(outcome.warnings, hide_index=True)
        if outcome.dataset and outcome.dataset != ctx.dataset:
            st.button(
                f"Make '{md(outcome.dataset)}' the active dataset",
                key=f"activate_{kind}",
                on_click=go,
                args=(ctx.view.with_dataset(outcome.dataset),),
            )
    else:
        st.error(md(outcome.message))
        if len(outcome.problems):
            st.caption("Nothing was written to the store. Fix these problems and upload again.")
            st.dataframe(outcome.problems, hide_index=True)


def run(kind: str, work: str, outcome_of: Callable[[], data.Outcome]) -> None:
    """Run an upload with progress shown, keep its outcome, refresh the page on success."""
    with st.spinner(work, show_time=True):
        outcome = outcome_of()
    st.session_state[f"data_outcome_{kind}"] = outcome
    if outcome.ok:
        st.rerun()


def import_section() -> None:
    """Upload an export into a new or existing dataset."""
    st.subheader("Import an export")
    upload = st.file_uploader(
        "Export file: Label Studio (JSON, JSON-MIN, CSV), Toloka TSV, Prodigy JSONL, "
        "crowd-kit, or a long or wide table (CSV, TSV, Parquet, JSON Lines)",
        key="upload_file",
        max_upload_size=LIMIT_MB,
    )
    c1, c2, c3, c4 = st.columns(4)
    name = c1.text_input("Dataset name", key="upload_dataset", placeholder="from the file name")
    round_ = c2.text_input("Round", key="upload_round", placeholder="from the file, else 1")
    label_field = c3.text_input(
        "Label field",
        key="upload_field",
        placeholder="detect",
        help="Label Studio from_name or Toloka OUTPUT: column, when the export has several.",
    )
    format_ = c4.selectbox("Format", [DETECT, *FORMATS], key="upload_format")
    if st.button("Import", key="import", type="primary", disabled=upload is None) and upload:
        run(
            "import",
            f"Importing {md(upload.name)}…",
            lambda: data.import_upload(
                ctx.store,
                upload.name,
                upload.getvalue(),
                dataset=name,
                round=round_,
                field=label_field,
                format=None if format_ == DETECT else format_,
                limit_mb=LIMIT_MB,
            ),
        )
    if "data_outcome_import" in st.session_state:
        show("import", st.session_state["data_outcome_import"])


def attach_section(dataset: str) -> None:
    """Attach a gold-label or predictions file to the active dataset."""
    st.subheader(f"Attach gold labels or predictions to '{md(dataset)}'")
    kind = st.radio(
        "The file holds",
        data.ATTACH_KINDS,
        key="attach_kind",
        horizontal=True,
        format_func={
            "gold": "Gold labels (item_id, gold_label)",
            "predictions": "Model predictions (item_id, predicted_label, optional model, confidence)",
        }.get,
    )
    attachment = st.file_uploader(
        "Gold or predictions file (CSV, TSV, Parquet, JSON Lines)",
        key="attach_file",
        max_upload_size=LIMIT_MB,
    )
    if st.button("Attach", key="attach", disabled=attachment is None) and attachment:
        run(
            "attach",
            f"Attaching {md(attachment.name)}…",
            lambda: data.attach_upload(
                ctx.store, dataset, kind, attachment.name, attachment.getvalue(), limit_mb=LIMIT_MB
            ),
        )
    if "data_outcome_attach" in st.session_state:
        show("attach", st.session_state["data_outcome_attach"])


if ctx.read_only:
    st.info(data.READ_ONLY_NOTE)
else:
    import_section()
    if ctx.dataset is not None:
        attach_section(ctx.dataset)

st.subheader("Datasets")
datasets_table(ctx)
for ds in ctx.catalog.datasets:
    active = ds == ctx.dataset
    with st.expander(f"{md(ds)} (active)" if active else md(ds), expanded=active):
        if not active:
            st.button(
                "Make active",
                key=f"activate_{ds}",
                on_click=go,
                args=(ctx.view.with_dataset(ds),),
            )
        st.markdown("**Provenance**: every file imported, with its sha256 and counts")
        st.dataframe(ctx.cached(Store.provenance, ds), hide_index=True)
        st.markdown("**Lineage**: the steps applied, in order")
        st.dataframe(ctx.cached(Store.lineage, ds), hide_index=True)

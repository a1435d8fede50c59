"""The Dask loader against the single-machine one: the same good rows, rejects and warnings.

Bad rows are planted in the demo export: broken fields (two in one row), a duplicate case_id in
a later month, an unknown area, an unseen category, an outcome without its date, a bad role, a
duplicate party, orphan parties (one of a missing case, one of a rejected case) and, for the
one-file folder only, a CSV row of the wrong width (the month writer refuses it).
The cluster: two worker processes of one thread each, so every function and fitted object is
pickled to the workers as it would be on a real cluster.
"""

from __future__ import annotations

import csv
import doctest
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from features.contract import load_dataset as load_local
from features.errors import ContractError
from training.distributed import layout
from training.distributed.cluster import connect
from training.distributed.load import load_dataset
from training.distributed.partition import write_partitioned

DUPLICATE = "MD20220000003"  # the demo's third case, registered again in 2024 (later in any order)


pytestmark = pytest.mark.slow  # a cluster of two worker processes per module


@pytest.fixture(scope="module")
def client():
    with connect(n_workers=2, threads_per_worker=1, processes=True, memory_limit="2GiB") as client:
        yield client


def _append(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([[row.get(c, "") for c in header] for row in rows])


def _plant(demo_dir: Path, folder: Path) -> Path:
    shutil.copytree(demo_dir, folder, ignore=shutil.ignore_patterns("rejects.csv", "truth.csv"))
    cases = pd.read_csv(folder / "cases.csv", dtype=str, keep_default_na=False)
    good = cases[cases["escalated"] == "false"].iloc[10].to_dict()
    late = dict(good, registered_at="2024-05-06T09:00:00")
    _append(
        folder / "cases.csv",
        [
            dict(cases[cases["case_id"] == DUPLICATE].iloc[0].to_dict(), registered_at="2024-05-05T10:00:00"),
            dict(late, case_id="BAD-DATE", registered_at="2023-13-45T10:00:00", n_parties="-1"),
            dict(late, case_id="BAD-AREA", area_code="329999999001"),
            dict(late, case_id="NEW-CATEGORY", category="快递纠纷"),
            dict(late, case_id="NO-DATE", escalated="true", escalated_at=""),
        ],
    )
    parties = pd.read_csv(folder / "parties.csv", dtype=str, keep_default_na=False)
    party = parties.iloc[0].to_dict()
    _append(
        folder / "parties.csv",
        [
            dict(party, case_id="NO-SUCH-CASE", party_id="p-orphan"),
            dict(party, case_id="BAD-DATE", party_id="p-rejected-case"),
            dict(party, case_id="NEW-CATEGORY", party_id="p-bad-role", role="原告"),
            dict(party, case_id="NEW-CATEGORY", party_id="p-kept"),
            parties.iloc[5].to_dict(),
        ],
    )
    return folder


@pytest.fixture(scope="module")
def planted(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _plant(demo_dir, tmp_path_factory.mktemp("planted") / "data")


def _unplaced(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rejects without the place of a duplicate's first copy (its line differs between layouts)."""
    return rejects.assign(
        reason=rejects["reason"].str.replace(r"first on line \d+( of \S+)?$", "first on line N", regex=True)
    )


def _by_key(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def test_one_file_tables_load_exactly_as_the_single_machine_loader(client, planted, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(planted, folder)
    with (folder / "parties.csv").open("a", encoding="utf-8") as fh:
        fh.write("MD20220000001,too-few-fields\n")
    local = load_local(folder, rejects_path=tmp_path / "local.csv")
    dist = load_dataset(folder, rejects_path=tmp_path / "dask.csv")
    got = dist.to_local()

    for name in ("cases", "parties", "areas", "rejects"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(local, name), check_exact=True)
    assert (
        got.warnings
        == local.warnings
        == ["category '快递纠纷' is not in the data contract; treated as 其他 (1 rows)"]
    )
    assert dist.export_date == local.export_date
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert (
        len(local.rejects) == 10
    )  # every planted rule fired: 5 on cases (one row breaks two), 4 + 1 on parties
    assert local.rejects["reason"].str.startswith("row has 2 fields").sum() == 1


def test_month_partitions_keep_the_same_rows_and_rejects(client, planted, tmp_path):
    local = load_local(planted, write_rejects=False)
    write_partitioned(planted, tmp_path / "months")
    dist = load_dataset(tmp_path / "months", rejects_path=tmp_path / "rejects.csv")
    assert dist.cases.npartitions > 40  # one partition per month file

    cases, parties = dist.cases.compute(), dist.parties.compute()
    pd.testing.assert_frame_equal(
        _by_key(cases, ["case_id"]), _by_key(local.cases, ["case_id"]), check_exact=True
    )
    pd.testing.assert_frame_equal(
        _by_key(parties, ["case_id", "party_id"]),
        _by_key(local.parties, ["case_id", "party_id"]),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(dist.areas, local.areas, check_exact=True)
    assert dist.warnings == local.warnings and dist.export_date == local.export_date

    # The same rejects but for where they are: a month file and its row; the first copy of a
    # duplicate is named with its file when that is another one.
    written = pd.read_csv(tmp_path / "rejects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(written.columns) == list(local.rejects.columns) and len(written) == len(local.rejects) == 9
    what = ["column", "value", "record", "reason"]
    pd.testing.assert_frame_equal(
        _by_key(_unplaced(dist.rejects[what]), what),
        _by_key(_unplaced(local.rejects[what]), what),
        check_exact=True,
    )
    for reject in dist.rejects.itertuples():
        row = pq.read_table(tmp_path / "months" / reject.file).slice(reject.line - 1, 1).to_pylist()[0]
        assert json.loads(reject.record) == row
    duplicate = dist.rejects[dist.rejects["reason"].str.startswith("duplicate case_id")].iloc[0]
    first = re.fullmatch(r"duplicate case_id, first on line (\d+) of (\S+)", duplicate["reason"])
    assert first is not None and first[2] == "cases/month=2022-01/part-00000.parquet"
    row = pq.read_table(tmp_path / "months" / first[2]).slice(int(first[1]) - 1, 1).to_pylist()[0]
    assert row["case_id"] == DUPLICATE and duplicate["file"] == "cases/month=2024-05/part-00000.parquet"


def test_writer_puts_each_case_in_its_month_and_parties_with_their_case(planted, tmp_path):
    write_partitioned(planted, tmp_path / "months", rows_per_file=40)
    months = {}
    for path in sorted((tmp_path / "months" / "cases").rglob("*.parquet")):
        month = path.parent.name.removeprefix("month=")
        table = pq.read_table(path).to_pandas()
        assert len(table) <= 40
        if month != "unknown":
            assert (table["registered_at"].str[:7] == month).all()
        for case_id in table["case_id"]:
            months.setdefault(case_id, month)  # a duplicate case_id: its parties go with the first
    assert months["BAD-DATE"] == "unknown" and months["NEW-CATEGORY"] == "2024-05"
    for path in (tmp_path / "months" / "parties").rglob("*.parquet"):
        month = path.parent.name.removeprefix("month=")
        ids = pq.read_table(path, columns=["case_id"]).column(0).to_pylist()
        assert all(months.get(case_id, "unknown") == month for case_id in ids)
    assert (tmp_path / "months" / "areas.parquet").is_file()


def test_a_month_file_without_a_required_column_is_named(tmp_path, planted):
    write_partitioned(planted, tmp_path / "months")
    path = tmp_path / "months" / "cases" / "month=2023-03" / "part-00000.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["narrative"]), path)
    with pytest.raises(
        ContractError, match=r"^cases/month=2023-03/part-00000.parquet: missing required column 'narrative'$"
    ):
        load_dataset(tmp_path / "months", write_rejects=False)


def test_a_table_both_as_a_file_and_a_folder_is_refused(tmp_path, planted):
    write_partitioned(planted, tmp_path / "months")
    shutil.copy(planted / "cases.csv", tmp_path / "months" / "cases.csv")
    with pytest.raises(ContractError, match="cases.csv, cases all found for cases; keep exactly one"):
        load_dataset(tmp_path / "months", write_rejects=False)


def test_layout_examples_run():
    assert doctest.testmod(layout).failed == 0

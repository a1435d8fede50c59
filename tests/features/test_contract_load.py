"""load_dataset: rules across rows and tables, the rejects file, dtypes, and leaving inputs alone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
from contract_factory import AREA_ROWS, TOWN, case_row, party_rows, write_dataset, write_table

from features.contract import load_dataset
from features.errors import ContractError


def _rejects(dataset, file: str) -> list[tuple[int, str, str]]:
    rows = dataset.rejects[dataset.rejects["file"] == file]
    return list(zip(rows["line"], rows["column"], rows["reason"], strict=True))


def test_loader_rejects_duplicate_case_id_naming_the_first_line(tmp_path: Path) -> None:
    write_dataset(tmp_path, cases=[case_row(1), case_row(2), case_row(3, case_id=" C0001 ")])
    dataset = load_dataset(tmp_path)
    assert _rejects(dataset, "cases.csv") == [(4, "case_id", "duplicate case_id, first on line 2")]
    assert dataset.cases["case_id"].tolist() == ["C0001", "C0002"]


def test_loader_rejects_duplicate_party_of_a_case(tmp_path: Path) -> None:
    cases = [case_row(1), case_row(2)]
    parties = [*party_rows("C0001"), party_rows("C0001")[0], party_rows("C0002", party_id="P-C0001-a")[0]]
    write_dataset(tmp_path, cases=cases, parties=parties)
    dataset = load_dataset(tmp_path)
    assert _rejects(dataset, "parties.csv") == [
        (4, "party_id", "duplicate (case_id, party_id), first on line 2")
    ]
    assert len(dataset.parties) == 3  # the same person in another case is fine


def test_loader_rejects_party_of_a_missing_or_rejected_case(tmp_path: Path) -> None:
    write_dataset(
        tmp_path,
        cases=[case_row(1), case_row(2, n_people="0")],
        parties=[*party_rows("C0001"), party_rows("C0002")[0], party_rows("C0404")[0]],
    )
    dataset = load_dataset(tmp_path)
    reason = "is not among the kept cases (missing or rejected)"
    assert _rejects(dataset, "parties.csv") == [(4, "case_id", reason), (5, "case_id", reason)]
    assert set(dataset.parties["case_id"]) == {"C0001"}


def test_loader_rejects_area_code_missing_from_the_areas_table(tmp_path: Path) -> None:
    write_dataset(tmp_path, cases=[case_row(1), case_row(2, area_code="320612001999")])
    assert _rejects(load_dataset(tmp_path), "cases.csv") == [(3, "area_code", "is not in the areas table")]


def test_loader_rejects_area_code_whose_table_level_is_not_town_or_village(tmp_path: Path) -> None:
    areas = [
        *AREA_ROWS,
        {"area_code": "320612002001", "name": "某片区", "level": "county", "parent_code": ""},
    ]
    write_dataset(tmp_path, cases=[case_row(1, area_code="320612002001")], areas=areas)
    assert _rejects(load_dataset(tmp_path), "cases.csv") == [
        (2, "area_code", "must be a town or village of the areas table")
    ]


def test_town_level_case_is_accepted(tmp_path: Path) -> None:
    write_dataset(tmp_path, cases=[case_row(1, area_code=TOWN)])
    dataset = load_dataset(tmp_path)
    assert dataset.rejects.empty and dataset.cases.loc[0, "area_code"] == TOWN


def test_header_only_areas_table_leaves_area_codes_unchecked(tmp_path: Path) -> None:
    write_dataset(tmp_path, cases=[case_row(1, area_code="110101001001")])
    write_table(tmp_path, "areas", [], columns=list(AREA_ROWS[0]))
    dataset = load_dataset(tmp_path)
    assert dataset.rejects.empty and len(dataset.cases) == 1 and dataset.areas.empty


def test_loader_rejects_bad_area_rows(tmp_path: Path) -> None:
    areas = [
        *AREA_ROWS,
        AREA_ROWS[4],
        dict(AREA_ROWS[4], area_code="320612001003", level="district"),
        dict(AREA_ROWS[4], area_code="320612001004", population="-5"),
    ]
    write_dataset(tmp_path, areas=areas)
    assert _rejects(load_dataset(tmp_path), "areas.csv") == [
        (7, "area_code", "duplicate area_code, first on line 6"),
        (8, "level", "must be one of province, city, county, town, village"),
        (9, "population", "must be a number >= 0 or empty"),
    ]


def test_rejects_file_holds_the_original_rows(tmp_path: Path) -> None:
    bad = case_row(2, amount_yuan=" -3 ", narrative="他说：\n“再不还钱就动手”", n_parties="零")
    write_dataset(tmp_path, cases=[case_row(1), bad], parties=party_rows("C0001"))
    load_dataset(tmp_path)
    written = pd.read_csv(tmp_path / "rejects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(written.columns) == ["file", "line", "column", "value", "reason", "record"]
    assert written[["line", "column", "value"]].values.tolist() == [
        ["3", "amount_yuan", " -3 "],
        ["3", "n_parties", "零"],
    ]
    assert all(json.loads(record) == bad for record in written["record"])


def test_clean_dataset_writes_a_header_only_rejects_file_over_a_stale_one(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    (tmp_path / "rejects.csv").write_text("stale\n", encoding="utf-8")
    dataset = load_dataset(tmp_path)
    assert dataset.rejects.empty
    assert (tmp_path / "rejects.csv").read_text(
        encoding="utf-8-sig"
    ) == "file,line,column,value,reason,record\n"


def test_rejects_go_where_asked_and_nowhere_when_not_wanted(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "data", cases=[case_row(1), case_row(2, amount_yuan="x")])
    load_dataset(folder, rejects_path=tmp_path / "out" / "bad.csv")
    assert (tmp_path / "out" / "bad.csv").is_file() and not (folder / "rejects.csv").exists()
    load_dataset(folder, write_rejects=False)
    assert not (folder / "rejects.csv").exists()


def test_rejects_file_may_not_overwrite_an_input_table(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    with pytest.raises(ContractError, match="would overwrite an input table"):
        load_dataset(tmp_path, rejects_path=tmp_path / "cases.csv")


def test_loader_does_not_modify_the_input_files(tmp_path: Path) -> None:
    write_dataset(tmp_path, cases=[case_row(1), case_row(2, amount_yuan="-1")], encoding="gb18030")
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    load_dataset(tmp_path)
    after = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir() if p.name in before
    }
    assert after == before


def test_dataset_has_the_designed_dtypes(tmp_path: Path) -> None:
    write_dataset(
        tmp_path,
        cases=[
            case_row(1, grid_code="", amount_yuan=""),
            case_row(2, escalated="true", escalated_at="2024-05-01T00:00"),
        ],
    )
    dataset = load_dataset(tmp_path)
    cases, parties, areas = dataset.cases, dataset.parties, dataset.areas
    assert {c: str(t) for c, t in cases.dtypes.items() if str(t) != "object"} == {
        "registered_at": "datetime64[ns]",
        "amount_yuan": "float64",
        "n_parties": "int64",
        "n_people": "int64",
        "police_calls_before": "float64",
        "mediation_attempts": "float64",
        "escalated": "bool",
        "escalated_at": "datetime64[ns]",
    }
    assert cases.loc[0, "grid_code"] is None and pd.isna(cases.loc[0, "amount_yuan"])
    assert cases.loc[0, "criminal_charge"] is None and pd.isna(cases.loc[0, "escalated_at"])
    assert list(cases.columns[-5:]) == [
        "source_raw",
        "category_raw",
        "escalated",
        "escalated_at",
        "criminal_charge",
    ]
    assert str(parties["age"].dtype) == "float64" and parties.loc[1, "gender"] == "女"
    assert parties["key_groups"].tolist()[:2] == ["", "刑满释放人员"]
    assert areas.loc[0, "parent_code"] == "320000000000" and str(areas["population"].dtype) == "float64"
    assert list(cases.index) == [0, 1]


def test_dataset_without_outcome_columns_has_none(tmp_path: Path) -> None:
    rows = [{k: v for k, v in case_row(1).items() if not k.startswith(("escalated", "criminal"))}]
    write_dataset(tmp_path, cases=rows)
    dataset = load_dataset(tmp_path)
    assert dataset.rejects.empty and "escalated" not in dataset.cases.columns


def test_export_date_is_the_latest_registered_at(tmp_path: Path) -> None:
    write_dataset(
        tmp_path, cases=[case_row(1), case_row(9, registered_at="2024-03-05T23:10:00+00:00"), case_row(3)]
    )
    assert load_dataset(tmp_path).export_date == pd.Timestamp("2024-03-06 07:10")


def test_dataset_area_tree_follows_the_areas_table(tmp_path: Path) -> None:
    dataset = load_dataset(write_dataset(tmp_path))
    tree = dataset.area_tree
    assert len(tree) == 5 and tree.ancestor_at("320612001001", "county") == "320612000000"
    assert tree.problems() == []

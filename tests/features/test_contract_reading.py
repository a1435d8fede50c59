"""Reading the contract's files: encodings, Parquet, broken files, line numbers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from contract_factory import AREA_ROWS, case_row, party_rows, write_dataset, write_table

from features import readers
from features.contract import load_dataset
from features.errors import ContractError
from features.readers import read_file, read_table


def _load(folder: Path):
    return load_dataset(folder, write_rejects=False)


def _assert_same_dataset(left, right) -> None:
    for table in ("cases", "parties", "areas", "rejects"):
        pd.testing.assert_frame_equal(getattr(left, table), getattr(right, table), check_like=False)


def _mixed_cases() -> list[dict[str, object]]:
    """Good rows and a bad one, with Chinese in every text column that can hold it."""
    return [
        case_row(1, source="12345热线", category="婚恋家庭", grid_code="网格一"),
        case_row(2, source="村民自报", amount_yuan="", escalated="是", escalated_at="2024-03-01 10:00:00"),
        case_row(3, n_people="三"),
    ]


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-8-sig"])
def test_gbk_and_bom_csv_read_identically_to_utf8(tmp_path: Path, encoding: str) -> None:
    reference = _load(write_dataset(tmp_path / "utf8", cases=_mixed_cases()))
    other = _load(write_dataset(tmp_path / "other", cases=_mixed_cases(), encoding=encoding))
    raw = (tmp_path / "other" / "cases.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") if encoding == "utf-8-sig" else b"12345\xc8\xc8\xcf\xdf" in raw
    _assert_same_dataset(other, reference)
    assert other.cases.loc[0, "source"] == "12345热线"
    assert other.rejects.loc[0, ["column", "value"]].tolist() == ["n_people", "三"]


def test_bom_is_stripped_from_the_first_header(tmp_path: Path) -> None:
    write_table(tmp_path, "cases", [case_row(1)], encoding="utf-8-sig")
    assert read_table(tmp_path, "cases").columns[0] == "case_id"


def test_parquet_dataset_equals_csv_dataset(tmp_path: Path) -> None:
    csv_set = _load(write_dataset(tmp_path / "csv", cases=_mixed_cases()))
    parquet_set = _load(write_dataset(tmp_path / "pq", cases=_mixed_cases(), fmt="parquet"))
    for table in ("cases", "parties", "areas"):
        pd.testing.assert_frame_equal(getattr(csv_set, table), getattr(parquet_set, table))
    # Parquet has no header line: its line is the row number + 1 (row 2 here, 0-based)
    assert parquet_set.rejects.loc[0, ["file", "line", "column"]].tolist() == ["cases.parquet", 3, "n_people"]
    assert csv_set.rejects.loc[0, ["file", "line", "column"]].tolist() == ["cases.csv", 4, "n_people"]


def test_typed_parquet_columns_read_like_their_csv_text(tmp_path: Path) -> None:
    rows = [
        case_row(1, amount_yuan="12.5"),
        case_row(2, amount_yuan="", escalated="true", escalated_at="2024-03-01T02:00:00+00:00"),
    ]
    csv_set = _load(write_dataset(tmp_path / "csv", cases=rows))
    typed = pd.DataFrame(rows)
    typed["registered_at"] = pd.to_datetime(typed["registered_at"]).dt.tz_localize("Asia/Shanghai")
    typed["escalated_at"] = pd.to_datetime(typed["escalated_at"], utc=True)
    typed["amount_yuan"] = pd.to_numeric(typed["amount_yuan"])  # 12.5 and NaN
    typed["n_parties"] = typed["n_parties"].astype("int64")
    typed["police_calls_before"] = pd.to_numeric(typed["police_calls_before"]).astype(float)
    typed["escalated"] = typed["escalated"].eq("true")
    folder = write_dataset(tmp_path / "pq", cases=rows)
    (folder / "cases.csv").unlink()
    typed.to_parquet(folder / "cases.parquet")
    parquet_set = _load(folder)
    assert parquet_set.rejects.empty
    pd.testing.assert_frame_equal(parquet_set.cases, csv_set.cases)
    assert parquet_set.cases.loc[1, "escalated_at"] == pd.Timestamp("2024-03-01 10:00")


def test_empty_file_is_a_contract_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    (tmp_path / "parties.csv").write_bytes(b"")
    with pytest.raises(ContractError, match=r"parties\.csv: empty file") as caught:
        _load(tmp_path)
    assert caught.value.file == "parties.csv"


def test_header_only_file_loads_zero_rows(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_table(tmp_path, "cases", [], columns=list(case_row(1)))
    dataset = _load(tmp_path)
    assert len(dataset.cases) == 0
    assert list(dataset.cases.columns[:3]) == ["case_id", "registered_at", "area_code"]
    assert dataset.cases["registered_at"].dtype == "datetime64[ns]"
    assert dataset.export_date is None
    assert set(dataset.rejects["reason"]) == {"is not among the kept cases (missing or rejected)"}


@pytest.mark.parametrize(
    ("table", "column"),
    [("cases", "narrative"), ("cases", "registered_at"), ("parties", "role"), ("areas", "level")],
)
def test_missing_required_column_names_file_and_column(tmp_path: Path, table: str, column: str) -> None:
    write_dataset(tmp_path)
    rows = {"cases": [case_row(1)], "parties": party_rows(), "areas": AREA_ROWS}[table]
    write_table(tmp_path, table, rows, drop=[column])
    with pytest.raises(ContractError) as caught:
        _load(tmp_path)
    assert str(caught.value) == f"{table}.csv: missing required column {column!r}"
    assert (caught.value.file, caught.value.column) == (f"{table}.csv", column)


def test_escalated_without_escalated_at_column_is_a_contract_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_table(tmp_path, "cases", [case_row(1)], drop=["escalated_at"])
    with pytest.raises(ContractError, match="'escalated_at'") as caught:
        _load(tmp_path)
    assert caught.value.column == "escalated_at"


def test_missing_areas_file_is_a_contract_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    (tmp_path / "areas.csv").unlink()
    with pytest.raises(ContractError, match=r"no areas\.csv or areas\.parquet"):
        _load(tmp_path)


def test_both_csv_and_parquet_of_a_table_is_a_contract_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_table(tmp_path, "cases", [case_row(1)], fmt="parquet")
    with pytest.raises(ContractError, match="both cases.csv and cases.parquet"):
        _load(tmp_path)


def test_undecodable_csv_is_a_contract_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    good = (tmp_path / "cases.csv").read_bytes()
    (tmp_path / "cases.csv").write_bytes(good + b"C9,\xff\xfe\xff\n")  # neither UTF-8 nor GB18030
    with pytest.raises(ContractError, match=r"cases\.csv: cannot be decoded as UTF-8 or GB18030") as caught:
        _load(tmp_path)
    assert caught.value.file == "cases.csv"


def test_utf16_csv_is_a_contract_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    write_table(tmp_path, "areas", AREA_ROWS, encoding="utf-16")
    with pytest.raises(ContractError, match="UTF-16"):
        _load(tmp_path)


def test_unreadable_parquet_is_a_contract_error(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    (tmp_path / "areas.csv").unlink()
    (tmp_path / "areas.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ContractError, match=r"areas\.parquet: cannot be read as Parquet"):
        _load(tmp_path)


def test_quote_left_open_is_a_contract_error_naming_where_it_began(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    with (tmp_path / "cases.csv").open("a", encoding="utf-8") as fh:
        fh.write('C0009,"2024-01-01T08:00:00,320612001001\nC0010,2024-01-02T08:00:00\n')
    with pytest.raises(ContractError, match="record starting on line 5"):
        _load(tmp_path)


def test_newline_inside_quoted_narrative_keeps_line_numbers_right(tmp_path: Path) -> None:
    rows = [
        case_row(1, narrative="第一行\n第二行\n第三行"),  # lines 2-4
        case_row(2, narrative="甲\r\n乙"),  # lines 5-6
        case_row(3, amount_yuan="-5"),  # line 7
    ]
    write_dataset(tmp_path, cases=rows)
    with (tmp_path / "cases.csv").open("a", encoding="utf-8", newline="") as fh:
        fh.write("\n")  # a blank line 8 holds no record, yet counts
        fh.write(",".join(str(v) for v in case_row(4, n_parties="0").values()) + "\n")  # line 9
    rejects = _load(tmp_path).rejects
    cases_rejects = rejects[rejects["file"] == "cases.csv"]
    assert cases_rejects[["line", "column"]].values.tolist() == [[7, "amount_yuan"], [9, "n_parties"]]
    assert _load(tmp_path).cases.loc[0, "narrative"] == "第一行\n第二行\n第三行"


def test_row_with_wrong_field_count_is_rejected_not_fatal(tmp_path: Path) -> None:
    write_dataset(tmp_path)
    with (tmp_path / "cases.csv").open("a", encoding="utf-8") as fh:
        fh.write("C0099,2024-01-01T08:00:00\n")
    dataset = _load(tmp_path)
    assert len(dataset.cases) == 3
    reject = dataset.rejects.iloc[0]
    assert (reject["line"], reject["column"], reject["reason"]) == (
        5,
        "",
        "row has 2 fields, the header has 15",
    )
    assert json.loads(reject["record"]) == {"case_id": "C0099", "registered_at": "2024-01-01T08:00:00"}


def test_extra_unknown_columns_are_kept_as_read(tmp_path: Path) -> None:
    write_dataset(tmp_path, cases=[case_row(1, 备注=" 见附件 "), case_row(2, 备注="")])
    dataset = _load(tmp_path)
    assert dataset.cases["备注"].tolist() == [" 见附件 ", ""]
    assert dataset.cases.columns[-1] == "备注"


# ---- Arrow's reading of a CSV agrees with the csv module's -------------------------------------
HEADER = "case_id,narrative,amount_yuan"
WELL_FORMED = {  # files Arrow reads itself: every quote opens, closes or is doubled in a field
    "plain": f"{HEADER}\nC1,吵架,12\nC2,打架,\n",
    "crlf, no final line break": f"{HEADER}\r\nC1,吵架,12\r\nC2,打架,",
    "old Mac line breaks": f"{HEADER}\rC1,吵架,12\rC2,打架,\r",
    "blank lines": f"{HEADER}\n\nC1,吵架,12\r\n\r\n\nC2,打架,\n\n",
    "newlines in quotes": f'{HEADER}\nC1,"第一行\n第二行\r\n第三行\r第四行",1\n\nC2,"\n\n",2\nC3,x,3\n',
    "doubled and empty quotes": f'{HEADER}\n"C1","他说""走""了",""\nC2,"""",1\n',
    "quoted header over two lines": 'case_id,"narr\native",amount_yuan\nC1,x,1\n',
    "line separators that are not line breaks": f"{HEADER}\nC1,a\u2028b\x85c\x0bd\x1ce,1\nC2,x,2\n",
    "NUL past the first 64 KiB": f"{HEADER}\n" + "C0,x,1\n" * 10000 + "C1,a\x00b,2\n",
    "a second BOM inside": f"{HEADER}\nC1,\ufeffx,1\n",
}
IRREGULAR = {  # files only the csv module reads (its errors and rejects are the contract's)
    "row of the wrong width": f"{HEADER}\nC1,x,1\nC2,x\nC3,x,1,4\n \nC4,x,1\n",
    "quote inside an unquoted field": f'{HEADER}\nC1,ab"c,1\n',
    "text after a closing quote": f'{HEADER}\nC1,"ab"c,1\n',
    "quote left open": f'{HEADER}\nC1,"ab,1\nC2,x,2\n',
    "field over the csv module's limit": f"{HEADER}\nC1,{'x' * 131073},1\n",
    "blank first line": f"\n{HEADER}\nC1,x,1\n",
    "header of blanks": " , ,\nC1,x,1\n",
    "empty": "",
}


def _outcome(path: Path, *, arrow: bool) -> tuple[object, ...]:
    try:
        table = read_file(path, arrow=arrow)
    except ContractError as exc:
        return ("error", str(exc), exc.file, exc.column)
    return ("table", table.frame, table.lines.tolist(), table.malformed, table.encoding, table.file)


def _assert_same_reading(path: Path) -> None:
    expected, got = _outcome(path, arrow=False), _outcome(path, arrow=True)
    assert got[0] == expected[0], (got, expected)
    if got[0] == "table":
        pd.testing.assert_frame_equal(got[1], expected[1], check_exact=True)
    assert got[2:] == expected[2:] and got[:1] == expected[:1]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
@pytest.mark.parametrize("name", sorted(WELL_FORMED))
def test_arrow_reads_a_well_formed_csv_as_the_csv_module_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, encoding: str
) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(WELL_FORMED[name].encode(encoding))
    expected = _outcome(path, arrow=False)
    monkeypatch.setattr(readers, "_parse_csv", None)  # Arrow must read it without the csv module
    got = _outcome(path, arrow=True)
    pd.testing.assert_frame_equal(got[1], expected[1], check_exact=True)  # type: ignore[arg-type]
    assert got[2:] == expected[2:]


@pytest.mark.parametrize("name", sorted(IRREGULAR))
def test_a_csv_arrow_cannot_read_alike_is_read_by_the_csv_module(tmp_path: Path, name: str) -> None:
    path = tmp_path / "cases.csv"
    path.write_bytes(IRREGULAR[name].encode("utf-8"))
    _assert_same_reading(path)


def _random_csv(rng: random.Random) -> str:
    """Fields plain or quoted (holding commas, quotes, \\r, \\n, \\r\\n, BOMs), any line breaks,
    blank and short rows, and now and then a stray character."""
    width = rng.randint(1, 3)
    inside = [*'ab中 ,"', "\r", "\n", "\r\n", "\u2028", "\ufeff", "😀"]

    def field() -> str:
        if rng.random() < 0.5:
            return rng.choice(["", "x", "中文", " y "])
        return '"' + "".join(rng.choices(inside, k=rng.randint(0, 5))).replace('"', '""') + '"'

    records = [",".join(field() for _ in range(width)) for _ in range(6)]
    records = [r if rng.random() < 0.9 else rng.choice(["", " ", "x,y,z,w"]) for r in records]
    breaks = rng.choices(["\n", "\r\n", "\r"], k=len(records))
    text = ",".join(f"c{k}" for k in range(width)) + "".join(
        b + r for b, r in zip(breaks, records, strict=True)
    )
    if rng.random() < 0.1:
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(['"', "x", ",", "\r"]) + text[at:]
    return text


def test_arrow_and_the_csv_module_agree_on_random_files(tmp_path: Path) -> None:
    """The same table, lines and rejects, or the same error, either way."""
    rng = random.Random(20240531)
    for i in range(400):
        path = tmp_path / f"random-{i % 10}.csv"
        path.write_bytes(_random_csv(rng).encode(rng.choice(["utf-8", "utf-8-sig"])))
        _assert_same_reading(path)

"""The per-record rules (check_case, check_party, check_area) and their column-wise twin."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from contract_factory import AREA_ROWS, COUNTY, TOWN, VILLAGE, case_row, party_rows

from features.errors import RecordError
from features.records import check_area, check_case, check_party, validate_frame

# Values that sit on or just over each rule's edge; each becomes one row of the agreement test.
TRICKY_CASE_VALUES: dict[str, list[object]] = {
    "case_id": ["x" * 64, "x" * 65, "", "  ", " C-1 "],
    "registered_at": [
        "2024-01-01T08:30",
        "2024-01-01 08:30:15",
        " 2024-01-01T08:30:00 ",
        "2024-02-29T23:59:59",
        "2024-02-30T00:00:00",
        "2023-02-29 00:00",
        "2024-01-01T00:00:60",
        "2024-01-01T24:00",
        "2024-13-01T00:00",
        "1899-12-31T23:59:59",
        "1900-01-01T00:00",
        "2101-01-01T00:00",
        "0000-01-01T00:00",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00+00:00",
        "2024-06-01T12:00:00.5-05:30",
        "2024-01-01T08:00:00,25+0800",
        "2024-01-01T08:00:00+08",
        "2024-01-01T08:00:00+24:00",
        "2024-01-01T08:00:00+08:60",
        "2024-01-01",
        "2024/01/01 08:00",
        "2024-1-1T08:00",
        "",
        "2024-01-01t08:00",
        "２０２４-01-01T08:00",
    ],
    "area_code": [
        VILLAGE,
        TOWN,
        COUNTY,
        "32061200100",
        "３２０６１２００１００１",
        " 320612001001 ",
        "32061200100a",
        "",
    ],
    "grid_code": ["", " G2 "],
    "source": ["群众来访", "某某渠道", "", " 12345热线 ", "其他"],
    "category": ["婚恋家庭", "打架", ""],
    "narrative": ["x", " ", "\n吵架\n", "x" * 5000, "x" * 5001, " " + "x" * 5000 + "\n"],
    "amount_yuan": [
        "",
        "0",
        "-0",
        "12.5",
        "1e3",
        ".5",
        "5.",
        "-3.2",
        "abc",
        "nan",
        "inf",
        "1e999",
        "1,000",
        " 7 ",
        "1_000",
        "+3",
    ],
    "n_parties": ["1", "0", "2.0", "2.5", "+3", "-1", "", "1000000000", "1000000001", "٣", "1e2"],
    "n_people": ["7", "0.0", " 12 "],
    "police_calls_before": ["", "0", "3.0", "-1", "x"],
    "mediation_attempts": ["", "2", "-0"],
    "escalated": ["true", "TRUE", "False", "1", "0", "是", "否", "yes", "", "1.0"],
    "criminal_charge": ["", "故意伤害"],
}
OUTCOME_COMBOS = [  # (escalated, escalated_at, registered_at)
    ("true", "", "2024-01-01T08:00"),
    ("true", "2024-01-01T07:59:59", "2024-01-01T08:00"),
    ("true", "2024-01-01T08:00", "2024-01-01T08:00"),
    ("true", "2024-01-01T00:00:00Z", "2024-01-01T08:00"),
    ("true", "2023-12-31T23:59:00Z", "2024-01-01T08:00"),
    ("false", "2024-02-01T08:00", "2024-01-01T08:00"),
    ("否", "", "2024-01-01T08:00"),
    ("maybe", "2024-02-01T08:00", "2024-01-01T08:00"),
    ("true", "not a date", "2024-01-01T08:00"),
    ("true", "2024-02-01T08:00", "not a date"),
]
TRICKY_PARTY_VALUES: dict[str, list[object]] = {
    "case_id": ["", " C0001 "],
    "party_id": ["", "p"],
    "role": ["申请方", "第三方", "当事人", ""],
    "party_type": ["单位", "个人", ""],
    "gender": ["", "女", "M", " 男 "],
    "age": ["", "0", "120", "121", "-1", "30.0", "30.5", "abc"],
    "key_groups": ["", "吸毒人员;刑满释放人员", "  "],
}
TRICKY_AREA_VALUES: dict[str, list[object]] = {
    "area_code": [VILLAGE, "123", ""],
    "name": ["", "某村"],
    "level": ["village", "district", ""],
    "parent_code": ["", TOWN, "12345"],
    "population": ["", "0", "-1", "1200.5", "x"],
}


def _rows(base: dict[str, object], tricky: dict[str, list[object]]) -> pd.DataFrame:
    rows = [dict(base, **{field: value}) for field, values in tricky.items() for value in values]
    return pd.DataFrame(rows, dtype=object)


def _assert_paths_agree(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    fast, fast_errors = validate_frame(kind, frame)
    slow, slow_errors = validate_frame(kind, frame, vectorised=False)
    pd.testing.assert_frame_equal(fast, slow)
    assert [(p, e.field, e.reason) for p, e in fast_errors] == [
        (p, e.field, e.reason) for p, e in slow_errors
    ]
    assert fast_errors and len(fast)  # the frame really holds both good and bad rows
    return fast


def test_vectorised_and_per_record_case_checks_agree() -> None:
    frame = _rows(case_row(1), TRICKY_CASE_VALUES)
    combos = [case_row(1, escalated=e, escalated_at=at, registered_at=reg) for e, at, reg in OUTCOME_COMBOS]
    _assert_paths_agree("cases", pd.concat([frame, pd.DataFrame(combos, dtype=object)], ignore_index=True))


def test_vectorised_and_per_record_case_checks_agree_without_outcome_columns() -> None:
    frame = _rows(case_row(1), TRICKY_CASE_VALUES).drop(
        columns=["escalated", "escalated_at", "criminal_charge"]
    )
    typed = _assert_paths_agree("cases", frame)
    assert "escalated" not in typed.columns


def test_vectorised_and_per_record_party_and_area_checks_agree() -> None:
    _assert_paths_agree("parties", _rows(party_rows()[0], TRICKY_PARTY_VALUES))
    _assert_paths_agree("areas", _rows(AREA_ROWS[3], TRICKY_AREA_VALUES))


def test_vectorised_and_per_record_checks_agree_on_python_values() -> None:
    """A frame of Python values (as an API would build) gets the same treatment as text."""
    frame = pd.DataFrame(
        [
            case_row(
                1,
                amount_yuan=12.5,
                n_parties=2,
                n_people=np.int64(3),
                police_calls_before=None,
                registered_at=datetime(2024, 1, 1, tzinfo=UTC),
                escalated=False,
            ),
            case_row(
                2,
                amount_yuan=float("nan"),
                n_parties=2.0,
                mediation_attempts=Decimal("1"),
                registered_at=pd.Timestamp("2024-01-02 09:00"),
                escalated=True,
                escalated_at=pd.Timestamp("2024-02-02 09:00"),
            ),
            case_row(3, amount_yuan=-1.0, n_parties=True, registered_at=pd.NaT, escalated=1),
        ],
        dtype=object,
    )
    typed = _assert_paths_agree("cases", frame)
    assert typed["registered_at"].tolist() == [
        pd.Timestamp("2024-01-01 08:00"),
        pd.Timestamp("2024-01-02 09:00"),
    ]


def test_check_case_accepts_python_values_as_well_as_text() -> None:
    values, errors = check_case(
        case_row(
            1,
            amount_yuan=12.5,
            n_people=30,
            registered_at=datetime(2024, 5, 1, 9, 30),
            escalated=True,
            escalated_at="2024-05-02T09:30:00",
            police_calls_before=2.0,
        )
    )
    assert errors == []
    assert (values["amount_yuan"], values["n_people"], values["police_calls_before"]) == (12.5, 30, 2)
    assert values["registered_at"] == datetime(2024, 5, 1, 9, 30)
    assert values["escalated"] is True


def test_check_case_reports_every_bad_field_of_a_row() -> None:
    _, errors = check_case(case_row(1, amount_yuan="-3.2", n_parties="0", area_code="123"))
    assert [error.field for error in errors] == ["area_code", "amount_yuan", "n_parties"]
    assert str(errors[1]) == "amount_yuan: must be a number >= 0 or empty, got '-3.2'"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("case_id", "", "must not be empty"),
        ("case_id", "x" * 65, "must be at most 64 characters"),
        ("registered_at", "2024/01/01 08:00", "must be an ISO-8601 date-time"),
        ("registered_at", "2024-01-01", "must be an ISO-8601 date-time"),
        ("registered_at", "2024-02-30T08:00", "must be a real calendar date and time"),
        ("registered_at", "1899-01-01T08:00", "year must be between 1900 and 2100"),
        ("area_code", "32061200100", "must be a 12-digit 统计用区划代码"),
        ("area_code", "３２０６１２００１００１", "must be a 12-digit 统计用区划代码"),
        ("area_code", COUNTY, "must be a town or village code"),
        ("narrative", " \n ", "must not be empty"),
        ("narrative", "吵" * 5001, "must be at most 5000 characters"),
        ("amount_yuan", "-3.2", "must be a number >= 0 or empty"),
        ("amount_yuan", "一千", "must be a number >= 0 or empty"),
        ("n_parties", "0", "must be an integer >= 1"),
        ("n_parties", "1.5", "must be an integer >= 1"),
        ("n_people", "", "must not be empty"),
        ("police_calls_before", "-1", "must be an integer >= 0 or empty"),
        ("mediation_attempts", "两次", "must be an integer >= 0 or empty"),
        ("escalated", "maybe", "must be true/false, 1/0 or 是/否"),
        ("source", "", "must not be empty"),
    ],
)
def test_check_case_rejects_bad_value(field: str, value: str, reason: str) -> None:
    _, errors = check_case(case_row(1, **{field: value}))
    assert [(e.field, e.value) for e in errors] == [(field, value)]
    assert errors[0].reason.startswith(reason)


def test_unseen_source_and_category_become_other_keeping_the_raw_value() -> None:
    values, errors = check_case(case_row(1, source="村民微信群", category=" 打架斗殴 "))
    assert errors == []
    assert (values["source"], values["source_raw"]) == ("其他", "村民微信群")
    assert (values["category"], values["category_raw"]) == ("其他", "打架斗殴")


def test_empty_amount_is_unknown_not_zero() -> None:
    values, _ = check_case(case_row(1, amount_yuan="", police_calls_before=""))
    assert math.isnan(values["amount_yuan"]) and math.isnan(values["police_calls_before"])


@pytest.mark.parametrize(
    ("text", "shanghai"),
    [
        ("2024-01-01T00:00:00+00:00", datetime(2024, 1, 1, 8, 0)),
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, 8, 0)),
        ("2024-01-01 08:00:00+08:00", datetime(2024, 1, 1, 8, 0)),
        ("2023-12-31T19:00:00-05:00", datetime(2024, 1, 1, 8, 0)),
        ("2024-01-01T08:00:00", datetime(2024, 1, 1, 8, 0)),  # no offset: already Shanghai time
        ("2024-01-01T08:00:00.123456789", datetime(2024, 1, 1, 8, 0, 0, 123456)),
    ],
)
def test_registered_at_is_stored_as_shanghai_wall_time(text: str, shanghai: datetime) -> None:
    values, errors = check_case(case_row(1, registered_at=text))
    assert errors == []
    assert values["registered_at"] == shanghai and values["registered_at"].tzinfo is None


@pytest.mark.parametrize("text", ["true", "TRUE", "True", "1", "是"])
def test_escalated_accepts_true_spellings(text: str) -> None:
    values, errors = check_case(case_row(1, escalated=text, escalated_at="2024-02-01T00:00"))
    assert errors == [] and values["escalated"] is True


@pytest.mark.parametrize("text", ["false", "FALSE", "0", "否"])
def test_escalated_accepts_false_spellings(text: str) -> None:
    values, errors = check_case(case_row(1, escalated=text))
    assert errors == [] and values["escalated"] is False


@pytest.mark.parametrize(
    ("escalated", "escalated_at", "reason"),
    [
        ("true", "", "required when escalated is true"),
        ("true", "2024-01-01T08:29:59", "must not be before registered_at"),
        ("true", "2024-01-01T00:29:59Z", "must not be before registered_at"),
        ("false", "2024-03-01T08:00", "must be empty when escalated is false"),
    ],
)
def test_outcome_rules(escalated: str, escalated_at: str, reason: str) -> None:
    _, errors = check_case(case_row(1, escalated=escalated, escalated_at=escalated_at))  # registered 08:30
    assert [(e.field, e.reason) for e in errors] == [("escalated_at", reason)]


def test_escalated_at_equal_to_registered_at_is_accepted() -> None:
    assert check_case(case_row(1, escalated="1", escalated_at="2024-01-01T00:30:00Z"))[1] == []


def test_check_case_without_outcome_keys_returns_no_outcome_fields() -> None:
    record = {k: v for k, v in case_row(1).items() if not k.startswith(("escalated", "criminal"))}
    values, errors = check_case(record)
    assert errors == [] and "escalated" not in values


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("role", "当事人", "must be one of 申请方, 被申请方, 第三方"),
        ("party_type", "个人", "must be one of 自然人, 单位"),
        ("gender", "M", "must be one of 男, 女 or empty"),
        ("age", "121", "must be at most 120"),
        ("age", "-1", "must be an integer >= 0 or empty"),
        ("party_id", " ", "must not be empty"),
    ],
)
def test_check_party_rejects_bad_value(field: str, value: str, reason: str) -> None:
    _, errors = check_party(party_rows()[0] | {field: value})
    assert [(e.field, e.reason) for e in errors] == [(field, reason)]


def test_check_party_accepts_python_age_and_empty_optionals() -> None:
    values, errors = check_party(party_rows()[0] | {"age": 30, "gender": "", "key_groups": None})
    assert errors == []
    assert (values["age"], values["gender"], values["key_groups"]) == (30, None, "")


def test_check_area_rejects_unknown_level_and_negative_population() -> None:
    _, errors = check_area(AREA_ROWS[0] | {"level": "district", "population": "-1", "parent_code": "32"})
    assert [e.field for e in errors] == ["level", "parent_code", "population"]


def test_contract_errors_survive_a_trip_to_another_process() -> None:
    import pickle

    from features.errors import ContractError

    record = pickle.loads(pickle.dumps(RecordError("area_code", "3206", "must be a 12-digit 统计用区划代码")))
    assert (record.field, record.value, str(record)) == (
        "area_code",
        "3206",
        "area_code: must be a 12-digit 统计用区划代码, got '3206'",
    )
    contract = pickle.loads(
        pickle.dumps(ContractError("cases.csv: missing column", file="cases.csv", column="x"))
    )
    assert (str(contract), contract.file, contract.column) == ("cases.csv: missing column", "cases.csv", "x")

"""The dataset contract describes the shipped CSV truthfully, and rejects malformed contracts."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from components.shared.contract import ContractError, load_contract
from components.shared.dataset import read_raw_text, to_typed
from tests.conftest import write_contract


@pytest.fixture(scope="module")
def typed(contract) -> pd.DataFrame:
    raw = read_raw_text(contract.path).replace({v: "" for v in contract.missing_values})
    return to_typed(raw, contract)


def test_columns_match_csv_in_order(contract, typed):
    assert list(typed.columns) == contract.column_names


def test_the_shipped_csv_is_the_raw_palmer_penguins_table(typed):
    assert len(typed) == 344
    assert typed["sex"].isna().sum() == 11  # missing values are kept, not dropped


def test_numeric_columns_parse_and_stay_in_range(contract, typed):
    for column in contract.columns:
        if not column.is_numeric:
            continue
        values = typed[column.name]
        assert values.dtype == "float64", column.name
        present = values.dropna()
        assert present.between(column.min, column.max).all(), column.name
        if column.type == "int":
            assert (present == present.round()).all(), f"{column.name} holds non-integers"


def test_categorical_columns_stay_in_domain(contract, typed):
    for column in contract.columns:
        if column.is_numeric:
            continue
        assert set(typed[column.name].dropna()) <= set(column.domain), column.name


def test_null_fractions_within_allowance(contract, typed):
    for column in contract.columns:
        assert typed[column.name].isna().mean() <= column.max_null_fraction, column.name


def test_label_is_a_column_and_classes_are_its_domain(contract):
    assert contract.column(contract.label).role == "label"
    assert contract.classes == ("Adelie", "Chinstrap", "Gentoo")
    assert [c.name for c in contract.features] == [
        "island",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "sex",
    ]


def _broken(tmp_path, contract, mutate) -> str:
    raw = yaml.safe_load(contract.source.read_text())
    mutate(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("hyperparameters"), "hyperparameters"),
        (lambda r: r["columns"]["island"].update(type="text"), "columns.island"),
        (lambda r: r["columns"]["island"].pop("domain"), "columns.island"),
        (lambda r: r["columns"]["body_mass_g"].pop("max"), "columns.body_mass_g"),
        (lambda r: r["label"].update(classes=["Gentoo", "Adelie", "Chinstrap"]), "label.classes"),
        # A contract written before the registry held every stack's model.
        (
            lambda r: r["mlflow"].update(registered_model=r["mlflow"].pop("model_name") + "-x"),
            "mlflow.registered_model is now mlflow.model_name",
        ),
    ],
)
def test_malformed_contract_names_the_problem(tmp_path, contract, mutate, message):
    with pytest.raises(ContractError, match=message.replace(".", r"\.")):
        load_contract(_broken(tmp_path, contract, mutate))


def test_each_stack_registers_its_own_model_of_the_contract(contract):
    assert contract.registered_model("tfx") == f"{contract.model_name}-tfx"
    assert contract.registered_model("lightning") != contract.registered_model("tfx")


def test_a_batch_fit_to_train_on_shows_every_class_and_two_values_per_feature(contract):
    """What both validators require of a batch (TFDV unique_constraints, GX unique value
    count): every class of the label, at least two values of a categorical feature."""
    from components.shared.contract import distinct_values

    columns = {c.name: c for c in contract.columns}
    assert distinct_values(columns["species"], contract) == (3, 3)
    assert distinct_values(columns["island"], contract) == (2, 3)
    assert distinct_values(columns["sex"], contract) == (2, 2)


def test_min_eval_rows_defaults_and_is_enforced_on_the_shared_split(tmp_path):
    from components.shared.contract import DEFAULT_MIN_EVAL_ROWS
    from components.shared.dataset import DataValidationError, check_eval_rows

    split = {"eval_fraction": 0.25, "seed": 42}
    contract = load_contract(write_contract(tmp_path, split=split))
    assert contract.min_eval_rows == DEFAULT_MIN_EVAL_ROWS
    check_eval_rows(DEFAULT_MIN_EVAL_ROWS, contract, tmp_path / "x.csv")
    with pytest.raises(DataValidationError, match=r"eval split has 19 rows.*min_eval_rows"):
        check_eval_rows(DEFAULT_MIN_EVAL_ROWS - 1, contract, tmp_path / "x.csv")

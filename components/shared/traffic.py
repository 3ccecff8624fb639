"""Traffic for a served champion: the shipped files `monitor --replay` sends, and the
client that sends them.

data/traffic/<name>-clean.csv is the contract's eval rows, as they are: served traffic
like the training data. data/traffic/<name>-shifted.csv is the same rows moved: the
first two numeric features by SHIFT_IN_STD training standard deviations (rounded as the
column's type, kept inside the contract's range), the first categorical feature set to
its rarest training category. Both stacks' monitors must pass the first and flag the
second. Regenerate them (and make them for another contract):
    python -m components.shared.traffic data/penguins.yaml
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from components.shared.contract import REPO_ROOT, Contract, load_contract
from components.shared.dataset import load_split, to_typed

SHIFT_IN_STD = 2.0
SHIFTED_NUMERIC = 2
KINDS = ("clean", "shifted")
BATCH_ROWS = 8  # rows per request: a served client sends a few rows at a time
SERVE_PORT = 5001  # `serve`'s default, beside `ui`'s 5000
DEFAULT_URL = f"http://127.0.0.1:{SERVE_PORT}"


def traffic_path(contract: Contract, kind: str) -> Path:
    return REPO_ROOT / "data" / "traffic" / f"{contract.name}-{kind}.csv"


def shifted(rows: pd.DataFrame, train: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """`rows` moved as the module docstring says."""
    out = rows.copy()
    numeric = [c for c in contract.features if c.is_numeric][:SHIFTED_NUMERIC]
    for column in numeric:
        moved = out[column.name] + SHIFT_IN_STD * float(train[column.name].std())
        moved = moved.clip(column.min, column.max)
        out[column.name] = moved.round() if column.type == "int" else moved.round(2)
    categorical = [c for c in contract.features if not c.is_numeric and c.domain][:1]
    for column in categorical:
        counts = train[column.name].value_counts().reindex(list(column.domain), fill_value=0)
        out[column.name] = counts.idxmin()
    return out


def write(contract: Contract) -> list[Path]:
    split = load_split(contract.path, contract)
    paths = []
    for kind, rows in zip(
        KINDS, (split.eval, shifted(split.eval, split.train, contract)), strict=False
    ):
        path = traffic_path(contract, kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows.to_csv(path, index=False, float_format="%.15g")
        paths.append(path)
    return paths


def read(path: Path, contract: Contract) -> pd.DataFrame:
    """A traffic file's feature columns, typed by the contract (other columns dropped)."""
    if not path.is_file():
        raise FileNotFoundError(f"no traffic file at {path}")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c.name for c in contract.features if c.name not in frame.columns]
    if missing:
        raise ValueError(f"{path} lacks the contract's feature column(s) {', '.join(missing)}")
    frame = frame.replace(list(contract.missing_values), "")
    typed = to_typed(frame[[c.name for c in contract.features]], contract)
    return typed.astype({c.name: "float64" for c in contract.features if c.is_numeric})


def send(rows: pd.DataFrame, url: str, batch_rows: int = BATCH_ROWS) -> int:
    """POST `rows` to a scoring server's /invocations, `batch_rows` per request, in order;
    returns the number of requests. Raises ConnectionError when nothing answers at `url`
    and RuntimeError on the first request it refuses."""
    sent = 0
    for start in range(0, len(rows), batch_rows):
        part = rows.iloc[start : start + batch_rows]
        body = json.dumps(
            {"dataframe_records": json.loads(part.to_json(orient="records"))}
        ).encode()
        request = urllib.request.Request(
            f"{url}/invocations", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"{url} refused request {sent + 1} ({exc.code}): {exc.read().decode()[:300]}"
            ) from exc
        except (urllib.error.URLError, ConnectionError) as exc:
            raise ConnectionError(f"nothing answers at {url} ({exc})") from exc
        sent += 1
    return sent


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m components.shared.traffic data/NAME.yaml ...", file=sys.stderr)
        return 1
    for source in args:
        for path in write(load_contract(Path(source))):
            print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

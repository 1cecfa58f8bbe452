"""fastfeedforward.spark on a local[2] Spark: records read from Parquet, classified by the batch
UDF, equal to the package's own answers (the demo model) and, with ../shared, to `fffrun
classify` on the MNIST test set (ml_mnist_l4_d2). Skipped, saying so, without pyspark (with
pandas and pyarrow) or Java; not part of CI (.ci/python-package does not install pyspark).

    python3 -m pip install pyspark pandas pyarrow    # and a Java 17 runtime
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastfeedforward as fff
from fff_testing import FIXTURES, TOOLS_DIR, fffrun_binary

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: skipping the Spark UDF tests")
pytest.importorskip("pandas", reason="pandas is not installed (pyspark's pandas UDFs need it): skipping")
pytest.importorskip("pyarrow", reason="pyarrow is not installed (pyspark's pandas UDFs need it): skipping")
if shutil.which("java") is None:
    pytest.skip("java is not on PATH: skipping the Spark UDF tests", allow_module_level=True)

from fastfeedforward.spark import predict_udf  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # The workers run this interpreter, which has the package (Spark's default is python3 on PATH).
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("fastfeedforward-test")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def write_parquet(path: Path, records: np.ndarray) -> None:
    import pandas as pd

    frame = pd.DataFrame({"id": np.arange(len(records)), "pixels": [row for row in records.astype(np.float32)]})
    frame.to_parquet(path)


def run_udf(spark, parquet: Path, udf) -> list:
    frame = spark.read.parquet(str(parquet)).repartition(2)
    rows = frame.withColumn("answer", udf("pixels")).select("id", "answer").orderBy("id").collect()
    return [row["answer"] for row in rows]


def test_demo_model_through_spark(spark, tmp_path: Path) -> None:
    model_path = FIXTURES / "demo" / "digits.fff"
    model = fff.Model(model_path)
    records = np.loadtxt(FIXTURES / "demo" / "digits-test.csv", delimiter=",", dtype=np.float32, ndmin=2)
    parquet = tmp_path / "digits.parquet"
    write_parquet(parquet, records)
    expected = model.classify(records)
    assert run_udf(spark, parquet, predict_udf(model_path, "index", batch_size=100)) == expected.tolist()
    labels = model.labels
    assert run_udf(spark, parquet, predict_udf(model_path, "label")) == [labels[i] for i in expected]
    scores = np.array(run_udf(spark, parquet, predict_udf(model_path, "scores")), dtype=np.float32)
    assert np.array_equal(scores, model.predict(records))
    assert run_udf(spark, parquet, predict_udf(model_path, "leaf")) == model.leaf(records).tolist()
    with pytest.raises(ValueError, match="output must be one of"):
        predict_udf(model_path, "probabilities")


def test_mnist_through_spark_matches_fffrun(spark, require_shared, tmp_path: Path) -> None:
    from pyfff.idx import read_idx

    images_path = require_shared("data/mnist/t10k-images-idx3-ubyte.gz")
    checkpoint = require_shared("data/paper-checkpoints/ml_mnist_l4_d2.pt")
    model_path = tmp_path / "ml_mnist_l4_d2.fff"
    subprocess.run([sys.executable, str(TOOLS_DIR / "fff-convert"), str(checkpoint), "-o", str(model_path),
                    "--input-scale", "0.00784313725490196", "--input-offset", "-1", "-q"], check=True, timeout=300)
    images = read_idx(images_path).reshape(-1, 784)
    parquet = tmp_path / "mnist.parquet"
    write_parquet(parquet, images)
    answers = np.array(run_udf(spark, parquet, predict_udf(model_path, "index")), dtype=np.int64)
    fffrun = fffrun_binary()
    run = subprocess.run([str(fffrun), "classify", str(model_path), str(images_path), "--output", "index"],
                         capture_output=True, text=True, timeout=300, check=True)
    theirs = np.array(run.stdout.split(), dtype=np.int64)
    assert theirs.shape == answers.shape == (10000,)
    assert np.array_equal(answers, theirs)
    labels = read_idx(require_shared("data/mnist/t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    assert int((answers == labels).sum()) == 9473

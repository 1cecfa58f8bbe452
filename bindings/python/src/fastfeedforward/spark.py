"""Apache Spark: a ``.fff`` model as a batch UDF (``pyspark.ml.functions.predict_batch_udf``).

    from pyspark.sql import SparkSession
    from fastfeedforward.spark import predict_udf

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    df = spark.read.parquet("mnist-test.parquet")          # a column "pixels": array of 784 numbers
    classify = predict_udf("mnist.fff", output="label")     # ships the file with SparkContext.addFile
    df.withColumn("digit", classify("pixels")).show()

The model file is shipped to the executors with ``SparkContext.addFile`` and loaded once per
Python worker process (then shared by its threads); records reach the model in Arrow batches
of ``batch_size`` rows, as one ``[N, I]`` array each. Needs pyspark >= 3.4 with its pandas UDF
dependencies (pandas, pyarrow), which this package does not install; the executors' Python
(``PYSPARK_PYTHON``) must have this package installed too.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

import numpy as np

from ._model import Model

__all__ = ["predict_udf"]

_OUTPUTS = ("index", "label", "scores", "leaf")
_models: dict[str, Model] = {}
_models_lock = threading.Lock()


def _cached_model(path: str) -> Model:
    """One Model per file per Python worker process (Spark reuses workers between tasks)."""
    with _models_lock:
        model = _models.get(path)
        if model is None:
            model = _models[path] = Model(path)
        return model


def predict_udf(model_path: str | os.PathLike[str], output: str = "index", *, raw: bool = True,
                batch_size: int = 4096, spark: Any = None) -> Callable[..., Any]:
    """A Spark UDF running the model at ``model_path`` on a column of records.

    Args:
        model_path: the ``.fff`` file on the driver; it is validated here and shipped to the
            executors with ``SparkContext.addFile``.
        output: ``"index"`` (the predicted class, LongType), ``"label"`` (its label, StringType;
            the model must have labels), ``"scores"`` (the O outputs, ArrayType(FloatType)) or
            ``"leaf"`` (the leaf index, LongType).
        raw: False when the column holds records that are already preprocessed.
        batch_size: rows per call into the model.
        spark: the SparkSession (default: the active one).

    Returns:
        A column function: ``df.withColumn("class", udf("pixels"))``. The column must hold arrays
        of ``input_width`` numbers (float, double, int, ...).

    Raises:
        ValueError: an unknown ``output``, ``"label"`` for a model without labels, or no Spark session.
        FFFError: the file is not a valid model.
    """
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql import SparkSession
    from pyspark.sql.types import ArrayType, FloatType, LongType, StringType

    if output not in _OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(map(repr, _OUTPUTS))}, not {output!r}")
    path = os.path.abspath(os.fspath(model_path))
    model = Model(path)  # validate on the driver: a bad file fails here, not in every task
    labels = model.labels
    if output == "label" and labels is None:
        raise ValueError(f"{path} has no labels: use output='index'")
    session = spark or SparkSession.getActiveSession()
    if session is None:
        raise ValueError("no active SparkSession: create one first, or pass spark=")
    session.sparkContext.addFile(path)
    name = os.path.basename(path)
    width = model.input_width
    flags_raw = bool(raw)

    def make_predict_fn() -> Callable[[np.ndarray], np.ndarray]:
        from pyspark import SparkFiles

        local = _cached_model(SparkFiles.get(name))
        label_array = np.array(labels, dtype=object) if labels is not None else None

        def predict(records: np.ndarray) -> np.ndarray:
            if output == "scores":
                return local.predict(records, raw=flags_raw)
            if output == "leaf":
                return local.leaf(records, raw=flags_raw)
            indices = local.classify(records, raw=flags_raw)
            return label_array[indices] if output == "label" else indices

        return predict

    return_type = {"index": LongType(), "leaf": LongType(), "label": StringType(),
                   "scores": ArrayType(FloatType())}[output]
    return predict_batch_udf(make_predict_fn, return_type=return_type, batch_size=batch_size,
                             input_tensor_shapes=[[width]])

"""The Evidently side of bench/drift-check.ts: Evidently's DataDriftPreset on the same files.

python bench/evidently_drift.py <dir> reads <dir>/reference.parquet and <dir>/window.parquet into
pandas DataFrames (pandas' default dtypes: float64 numeric, object strings; not timed), then times
Report([DataDriftPreset()]).run(current, reference) (Evidently 0.7 API; column types inferred by
Evidently, as a user calling it this way gets them) and prints one JSON line.

Memory: on Linux the RSS high-water mark is reset (/proc/self/clear_refs) after loading, so the run
reports its own peak (the loaded DataFrames included); that reset also resets getrusage's ru_maxrss,
so the process peak is the larger of the two readings.
"""

import json
import resource
import sys
import time

import evidently
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def peak_mb() -> float:
    """This phase's peak RSS in MB (ru_maxrss is in KB on Linux), then a fresh high-water mark."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    return kb / 1024


def main() -> None:
    data_dir = sys.argv[1]
    t0 = time.perf_counter()
    reference = pd.read_parquet(f"{data_dir}/reference.parquet")
    current = pd.read_parquet(f"{data_dir}/window.parquet")
    load_seconds = time.perf_counter() - t0
    load_peak = peak_mb()

    t0 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    run_seconds = time.perf_counter() - t0
    run_peak = peak_mb()

    features = {}
    drifted_count = None
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        kind = config["type"].rsplit(":", 1)[-1]
        if kind == "DriftedColumnsCount":
            drifted_count = int(metric["value"]["count"])
        elif kind == "ValueDrift":
            method, threshold, value = config["method"], config["threshold"], float(metric["value"])
            p_value = "p_value" in method.lower()
            drifted = value < threshold if p_value else value >= threshold
            features[config["column"]] = {"method": method, "statistic": value, "threshold": threshold, "drifted": drifted}

    print(json.dumps({
        "evidently": evidently.__version__,
        "pandas": pd.__version__,
        "rows": {"reference": len(reference), "window": len(current)},
        "load": {"seconds": load_seconds, "peakRssMb": load_peak},
        "run": {"seconds": run_seconds, "peakRssMb": run_peak},
        "processPeakRssMb": max(load_peak, run_peak),
        "driftedCount": drifted_count,
        "drifted": sorted(name for name, f in features.items() if f["drifted"]),
        "features": features,
    }))


if __name__ == "__main__":
    main()

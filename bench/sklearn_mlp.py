"""scikit-learn's MLPClassifier on the rows bench/training-throughput.ts preprocessed: samples/s.

argv: x.f32 y.f32 rows inputs hidden(e.g. 64,32) batch seconds
x.f32 holds rows x inputs float32 features, y.f32 the class index per row, exactly what the
TensorFlow.js backends train on. One epoch (max_iter=1, adam, no shuffling, no early stopping) over
as many rows as take about `seconds`, found with a probe of 4 batches as the tfjs side does.
Prints one JSON line: {"samples_per_s": ..., "rows": ...}.
"""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

x_file, y_file, rows, inputs, hidden, batch, seconds = sys.argv[1:8]
rows, inputs, batch, seconds = int(rows), int(inputs), int(batch), float(seconds)
hidden = tuple(int(h) for h in hidden.split(","))
x = np.fromfile(x_file, dtype=np.float32).reshape(rows, inputs)
y = np.fromfile(y_file, dtype=np.float32).astype(np.int64)
warnings.simplefilter("ignore", ConvergenceWarning)


def fit(n):
    model = MLPClassifier(hidden_layer_sizes=hidden, batch_size=batch, max_iter=1, solver="adam",
                          learning_rate_init=0.001, shuffle=False, random_state=42, early_stopping=False)
    t0 = time.perf_counter()
    model.fit(x[:n], y[:n])
    return time.perf_counter() - t0


probe = min(rows, batch * 4)
fit(probe)
per_row = fit(probe) / probe
n = max(batch * 4, min(rows, round(seconds / per_row / batch) * batch))
print(json.dumps({"samples_per_s": n / fit(n), "rows": n}))

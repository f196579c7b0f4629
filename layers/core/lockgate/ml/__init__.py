"""The heavy side: tabular reading, data checks, training, metrics, ONNX export, profiles, drift."""

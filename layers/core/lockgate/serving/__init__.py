"""The light side: prediction on onnxruntime and numpy alone, signatures, capture. Never pandas."""

"""Documents for people: the drift report (JSON + HTML) and the model card."""

# Sample guests (placeholder until the guest runtime lands).
.PHONY: samples
samples:

"""Helpers the test layers share: the pipeline harness, the lake, the CLI workspace, fakes."""

"""archiver: capture, prove and compare web pages."""

__version__ = "0.1.0"
SOFTWARE = f"archiver {__version__}"

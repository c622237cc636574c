"""deskphone: open firmware for a Raspberry Pi desk phone that behaves like a Yealink IP phone."""

__version__ = "0.1.0"

MODEL = "deskphone"

"""Project exceptions: each derives from DeskphoneError and the matching built-in."""


class DeskphoneError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(DeskphoneError, ValueError):
    """A setting that cannot be used. Carries where it came from: file, line and key."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        parts = [p for p in (where, self.key) if p]
        return ": ".join(parts + [self.message])


class BoardError(ConfigError):
    """A board TOML that cannot be used."""


class UnknownInput(DeskphoneError, TypeError):
    """The core was handed something that is not one of its inputs (``core.inputs``)."""

"""The phone's own lists on the screen, as data: History, the call log lists, the directory.

Pure data (``core.records`` moves through them, ``core.xml_screens`` draws them).
"""

from __future__ import annotations

from dataclasses import dataclass

# History: what F2 (History) on the idle screen opens.
HISTORY = ("Missed calls", "Received calls", "Placed calls", "Directory", "Clear call log")
HISTORY_KINDS = {"Missed calls": "missed", "Received calls": "received",
                 "Placed calls": "placed"}
MAX_TYPED = 32               # directory search: digits typed


@dataclass
class View:
    kind: str                # history | log | directory
    index: int = 0           # the selected line
    log_kind: str = ""       # log: missed | received | placed
    typed: str = ""          # directory: the digits typed to search
    back: bool = True        # X goes back to History (False: to where the phone was)

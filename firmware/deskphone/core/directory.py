"""The directory as data: the local contacts and the remote phone books, and searching them.

Pure. The adapters read the local file (``config.directory_file``) and fetch
the remote books (``net.phonebook``) and hand the contacts in as
``DirectoryLoaded``; the core looks callers up here (a caller without a
display name is shown by the book's name) and the keypad searches here, with
the letters on the digit keys as a phone's keypad prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_CONTACTS = 1000          # per book: a remote book may be anything its server sends
LOCAL = "local"
LETTERS = {"2": "abc", "3": "def", "4": "ghi", "5": "jkl", "6": "mno", "7": "pqrs",
           "8": "tuv", "9": "wxyz", "0": " "}
KEY_OF = {letter: digit for digit, letters in LETTERS.items() for letter in letters}


@dataclass(frozen=True)
class Contact:
    name: str
    numbers: tuple[str, ...]
    book: str = LOCAL        # the book's name as the phone shows it

    @property
    def number(self) -> str:
        return self.numbers[0] if self.numbers else ""


@dataclass(frozen=True)
class DirectoryLoaded:
    """Input: the contacts of one book. ``source``: ``local`` or ``remote.N``."""
    source: str
    contacts: tuple[Contact, ...]


@dataclass(frozen=True)
class SetLocalDirectory:
    """Input: a change of the local directory (web page, console): ``add`` goes after the
    contacts there are, ``remove`` (a contact as listed) goes. Changes, not the whole list:
    two edits in a row each apply to what the other left."""
    add: tuple[Contact, ...] = ()
    remove: Contact | None = None


@dataclass(frozen=True)
class WriteDirectory:
    """Effect: write the local directory file (the adapter: atomically, off the loop)."""
    contacts: tuple[Contact, ...]


@dataclass
class Directory:
    books: dict[str, tuple[Contact, ...]] = field(default_factory=dict)   # source -> contacts

    def load(self, source: str, contacts: tuple[Contact, ...]) -> None:
        self.books[source] = contacts[:MAX_CONTACTS]

    @property
    def contacts(self) -> tuple[Contact, ...]:
        """Every contact, the local ones first, then each remote book in its order."""
        order = sorted(self.books, key=lambda s: (s != LOCAL, s))
        return tuple(c for source in order for c in self.books[source])

    def name_of(self, number: str) -> str:
        """The name the books give ``number`` (a user part or a dialled string), or ""."""
        key = comparable(number)
        if not key:
            return ""
        for contact in self.contacts:
            if any(comparable(n) == key for n in contact.numbers):
                return contact.name
        return ""

    def search(self, typed: str) -> tuple[Contact, ...]:
        """The contacts ``typed`` (digit keys) finds: by the letters of a word of the name
        (``5``, ``52``: Jack, Kate...) or by the start of a number."""
        if not typed:
            return self.contacts
        return tuple(c for c in self.contacts if _matches(c, typed))


def number_of(uri: str) -> str:
    """The number in a SIP or tel URI (its user part); a plain number as it is."""
    _, colon, rest = uri.partition(":")
    rest = rest if colon and uri[:4].lower() in ("sip:", "sips", "tel:") else uri
    return rest.split("@", 1)[0].split(";", 1)[0]


def comparable(number: str) -> str:
    """A number as lookups compare it: the user part of a URI, without spaces and dashes."""
    return "".join(ch for ch in number_of(number) if ch not in " -().").lower()


def keys_of(word: str) -> str:
    """The digit keys that spell ``word`` (letters without a key are dropped)."""
    return "".join(KEY_OF.get(ch, ch if ch.isdigit() else "") for ch in word.lower())


def _matches(contact: Contact, typed: str) -> bool:
    if any(keys_of(word).startswith(typed) for word in contact.name.split()):
        return True
    # "+" is no digit key: +4930... is found by typing 4930.
    return any(comparable(n).lstrip("+").startswith(typed.lstrip("+")) for n in contact.numbers)

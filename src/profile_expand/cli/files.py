"""Files for the command line: templates read as UTF-8 with the position of a bad byte, files written whole.

Every command that writes a file writes it with `write_atomic` (a temporary file in the same folder,
flushed to disk, then renamed over the target), so a full disk, a size limit or a kill mid-write leaves
the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Final

from profile_expand.core.errors import ProfileExpandError

STDIN: Final = "-"
STDIN_NAME: Final = "<stdin>"


class UnreadableInputError(ProfileExpandError):
    """A template that cannot be read as text; `line` and `column` are 1-based, 0 where there is none."""

    def __init__(self, name: str, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line:
            return f"{self.name}:{self.line}:{self.column}: {self.message}"
        return f"profile-expand: error: {self.message}"


def display_name(template: str) -> str:
    return STDIN_NAME if template == STDIN else template


def read_template(template: str, *, keep_newlines: bool = False) -> str:
    """The text of a template file (or of standard input for `-`), decoded as UTF-8 as CloudFormation reads it.

    Line ends become `\\n` unless `keep_newlines` (migrate writes the file back with the author's own).
    """
    name = display_name(template)
    try:
        data = _read_bytes(template)
    except OSError as error:
        raise UnreadableInputError(name, f"cannot read {name}: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise UnreadableInputError(
            name,
            f"not UTF-8 text (byte 0x{data[error.start]:02x}); CloudFormation reads templates as UTF-8: "
            "save the file as UTF-8",
            line,
            column,
        ) from error
    if keep_newlines:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_bytes(template: str) -> bytes:
    if template != STDIN:
        return Path(template).read_bytes()
    if sys.stdin is None:
        raise OSError(0, "standard input is closed")
    stream: BinaryIO | None = getattr(sys.stdin, "buffer", None)
    # A text stream without bytes below it (a test's StringIO) is already decoded.
    return sys.stdin.read().encode("utf-8") if stream is None else stream.read()


def same_file(first: str, second: str) -> bool:
    """Whether two paths name one file (through links and different spellings); False if either is missing."""
    if STDIN in (first, second):
        return False
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Replace `path` with `text` (UTF-8, line ends as given; or bytes) or leave it untouched; raises OSError.

    The text goes to a temporary file beside the target, is flushed to disk, takes the target's mode (or
    the mode a new file would get), and is renamed over the target: a reader never sees half a file.
    """
    target = Path(path)
    folder = target.parent
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(text if isinstance(text, bytes) else text.encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # The rename itself reaches the disk with the folder's entry.
    with contextlib.suppress(OSError):
        folder_handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_handle)
        finally:
            os.close(folder_handle)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_stdout(text: str) -> None:
    """Write to standard output now; raises OSError when it is closed, full or a broken pipe."""
    stream = sys.stdout
    if stream is None:
        raise OSError(0, "standard output is closed")
    stream.write(text)
    stream.flush()


def silence_stdout() -> None:
    """After a failed write: point standard output at /dev/null so the interpreter's exit flush is quiet."""
    stream = sys.stdout
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)

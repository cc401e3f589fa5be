"""The commands' own console: what they do when it can't show a character, when whoever
reads them has gone (`| head -1`, a pager that was quit), and when they are told to stop."""

import io
import os
import signal
import sys
import threading
from contextlib import contextmanager


def replace_what_the_console_cannot_show():
    """Print "?" for characters the console's encoding lacks (a student's "café" on
    PYTHONIOENCODING=ascii, "→" on a Windows cp1252 pipe) instead of stopping with
    UnicodeEncodeError partway through a report or an error line."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


@contextmanager
def prepared():
    """Around a command: a console that shows what it can, and whose reader may leave.

    The streams are put back afterwards unless something else replaced them
    meanwhile (the runner's capture of an abandoned check stays in charge)."""
    replace_what_the_console_cannot_show()
    before = sys.stdout, sys.stderr
    ours = sys.stdout, sys.stderr = ConsoleStream(_or_nowhere(sys.stdout)), ConsoleStream(_or_nowhere(sys.stderr))
    try:
        yield
    finally:
        if (sys.stdout, sys.stderr) == ours:
            sys.stdout, sys.stderr = before


def _or_nowhere(stream):
    # Python makes a standard stream None when its descriptor was closed before it
    # started (`>&-`, some cron and CI set-ups): nobody reads it, so writes go nowhere.
    return stream if stream is not None else open(os.devnull, "w", encoding="utf-8")


def _reader_gone(exc):
    # Windows reports a pipe whose reader has gone as EINVAL on write, not EPIPE.
    return isinstance(exc, BrokenPipeError) or (os.name == "nt" and isinstance(exc, OSError) and exc.errno == 22)


class ConsoleStream:
    """A standard stream as the commands use it.

    Once its reader has gone, it drops what is written to it: as well-mannered
    Unix tools do, the command goes quiet, but it still finishes its work: the
    grade is saved, and every report file and the gradebook are written; nothing
    is left half done by a BrokenPipeError.

    While checks run, the runner points descriptors 1 and 2 elsewhere (to catch
    what the checks' own processes print) and diverts this stream to a copy of
    the real descriptor: whoever holds it, a report or a progress line, still
    reaches the console.
    """

    def __init__(self, stream):
        self._stream = stream
        self._undiverted = None
        self.reader_gone = False
        # Held while writing and while switching streams: once undivert() returns, no
        # thread is still writing to the copy it used, which may then be closed.
        self._lock = threading.RLock()

    def divert(self, stream):
        """Write to stream from now on, until undivert()."""
        with self._lock:
            self._undiverted, self._stream = self._stream, stream

    def undivert(self):
        with self._lock:
            self._stream, self._undiverted = self._undiverted, None

    def write(self, text):
        with self._lock:
            if not self.reader_gone:
                try:
                    return self._stream.write(text)
                except OSError as exc:
                    if not _reader_gone(exc):
                        raise
                    self._went_away()
            return len(text)

    def flush(self):
        with self._lock:
            if self.reader_gone:
                return
            try:
                self._stream.flush()
            except OSError as exc:
                if not _reader_gone(exc):
                    raise
                self._went_away()

    def _went_away(self):
        self.reader_gone = True
        # The stream's descriptor now leads nowhere: what is still in its buffer, and
        # the flush when Python exits, go there instead of raising again at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
            self._stream.flush()
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass  # a stream with no descriptor of its own (a test's capture) has nothing left to empty

    def __getattr__(self, name):  # encoding, isatty(), fileno(), ... of the real stream
        return getattr(self._stream, name)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a CI job cancelled, a container stopped), taken as Ctrl-C is: the
    running check finishes and puts the guest back, and what was graded is kept."""


def exit_code(interrupt):
    """130 for Ctrl-C, 143 for SIGTERM: 128 and the signal's number, as a shell reports it."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


@contextmanager
def terminate_as_interrupt():
    """While the command runs, SIGTERM raises Terminated (a KeyboardInterrupt) in the main
    thread, so that every place that handles Ctrl-C handles it too."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set a handler; a command run elsewhere keeps the default
        return

    def interrupt(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

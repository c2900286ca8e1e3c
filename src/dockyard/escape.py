"""Docker's detach keys (``ctrl-p,ctrl-q`` by default): parsed, and watched for in a
terminal's input. Pure; used by the daemon (attach, exec) and by the CLI alike."""

from dockyard.errors import InvalidParameter

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


def parse_detach_keys(text: str) -> bytes:
    """``ctrl-p,ctrl-q``: comma-separated single characters or ``ctrl-<a-z @ [ \\ ] ^ _>``,
    as the bytes a terminal sends for them."""
    out = bytearray()
    for key in text.split(","):
        lowered = key.lower()
        if len(key) == 1:
            out.append(ord(key))
        elif lowered.startswith("ctrl-") and len(key) == 6 and (
                "a" <= lowered[5] <= "z" or lowered[5] in "@[\\]^_"):
            char = lowered[5]
            out.append(ord(char) - ord("a") + 1 if "a" <= char <= "z" else ord(char) - 64)
        else:
            raise InvalidParameter(f"Invalid detach keys ({text}) provided")
    return bytes(out)


class EscapeFilter:
    """The detach keys in a terminal's input, as Docker's escape proxy reads them: a key of
    the sequence counts only when it arrives alone (typed, not pasted); the keys held back
    while the sequence may be starting are passed on once it turns out not to be one."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._pos = 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on, whether the whole sequence has now been typed)."""
        if not self.keys:
            return data, False
        if len(data) != 1 or data[0] != self.keys[self._pos]:
            held, self._pos = self.keys[:self._pos], 0
            return held + data, False
        if self._pos == len(self.keys) - 1:
            self._pos = 0
            return b"", True
        self._pos += 1
        return b"", False

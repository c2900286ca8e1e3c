"""A busybox image built from the host's static busybox (Debian's ``busybox-static``).

Tests and examples need an image without a registry. The rootfs is the static binary,
one symlink per applet in ``/bin``, minimal ``/etc/passwd`` and ``/etc/group``, and the
usual empty directories. The tar is deterministic (sorted entries, the binary's mtime
everywhere, root ownership, no PAX headers), and so is the image config (created = the
binary's mtime), so one machine always gets the same image id.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dockyard.errors import NotFound
from dockyard.images.changes import apply_changes
from dockyard.images.config import RunConfig, build_import_config, image_id

if TYPE_CHECKING:
    from dockyard.images.store import ImageStore

BUSYBOX = "/bin/busybox"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CHANGES = (f"ENV PATH={DEFAULT_PATH}", 'CMD ["sh"]')

_DIRS = {"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o555,
         "root": 0o700, "sys": 0o555, "tmp": 0o1777, "usr": 0o755, "var": 0o755}
_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"
                  "nobody:x:65534:65534:nobody:/home:/bin/false\n",
    "etc/group": "root:x:0:\nnobody:x:65534:\n",
}


def applets(busybox: str = BUSYBOX) -> list[str]:
    """The applet names this busybox was built with (``busybox --list``)."""
    if not os.path.isfile(busybox):
        raise NotFound(f'busybox binary "{busybox}" not found (install busybox-static)')
    out = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True,
                         timeout=30).stdout
    return sorted({name for name in out.split() if name and "/" not in name} | {"sh"})


def _info(name: str, kind: bytes, mode: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def busybox_rootfs_tar(busybox: str = BUSYBOX) -> tuple[bytes, int]:
    """The rootfs tar in memory and the mtime used for it (the binary's)."""
    mtime = int(os.stat(busybox).st_mtime)
    with open(busybox, "rb") as handle:
        binary = handle.read()
    buffer = io.BytesIO()
    entries: dict[str, tuple[tarfile.TarInfo, bytes | None]] = {}
    for name, mode in _DIRS.items():
        entries[name] = (_info(name, tarfile.DIRTYPE, mode, mtime), None)
    for name, text in _FILES.items():
        data = text.encode()
        info = _info(name, tarfile.REGTYPE, 0o644, mtime)
        info.size = len(data)
        entries[name] = (info, data)
    program = _info("bin/busybox", tarfile.REGTYPE, 0o755, mtime)
    program.size = len(binary)
    entries[program.name] = (program, binary)
    for applet in applets(busybox):
        if applet == "busybox":
            continue
        link = _info(f"bin/{applet}", tarfile.SYMTYPE, 0o777, mtime)
        link.linkname = "busybox"
        entries[link.name] = (link, None)
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name in sorted(entries):
            info, content = entries[name]
            archive.addfile(info, io.BytesIO(content) if content is not None else None)
    return buffer.getvalue(), mtime


def build_busybox_rootfs_tar(out_path: str, busybox: str = BUSYBOX) -> str:
    """Write the busybox rootfs tar to ``out_path``; returns its diff-id (``sha256:…``)."""
    data, _ = busybox_rootfs_tar(busybox)
    with open(out_path, "wb") as handle:
        handle.write(data)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def ensure_busybox_image(
    images: ImageStore, ref: str = "busybox:latest", busybox: str = BUSYBOX
) -> str:
    """Import the busybox image as ``ref`` unless that exact image is already there."""
    data, mtime = busybox_rootfs_tar(busybox)
    created = datetime.fromtimestamp(mtime, UTC)
    run_config = apply_changes(RunConfig(), CHANGES)
    diff_id = "sha256:" + hashlib.sha256(data).hexdigest()
    expected = image_id(build_import_config(run_config, [diff_id], created,
                                            comment="Imported from -"))
    try:
        present = images.resolve(expected)
    except NotFound:
        present = None
    if present is not None:
        images.tag(expected, ref)
        return expected
    return images.import_tar(io.BytesIO(data), ref, changes=CHANGES, created=created)

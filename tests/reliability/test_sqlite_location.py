"""SQLite on a network filesystem is refused at startup (its file locks do not hold there), with one
line that names DATABASE_URL; a local path is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import Store, UnsafeDatabaseLocation
from bot.store import engine as store_engine
from bot.store.engine import check_sqlite_location, network_filesystem, sqlite_path

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
proc /proc proc rw,relatime 0 0
tmpfs /tmp tmpfs rw,nosuid,nodev 0 0
nas:/export/ops /mnt/ops nfs4 rw,relatime,vers=4.2 0 0
//files/share /mnt/smb cifs rw,relatime 0 0
//files/share3 /mnt/smb3 smb3 rw 0 0
user@host:/data /home/me/remote fuse.sshfs rw,nosuid,nodev 0 0
mon1:6789:/ /mnt/ceph ceph rw,relatime 0 0
gluster1:/vol /mnt/gluster glusterfs rw 0 0
share /mnt/9p 9p rw,trans=virtio 0 0
/dev/vdb /mnt/ops/local ext4 rw 0 0
/dev/vdc /mnt/with\\040space xfs rw 0 0
nas:/x /mnt/with\\040space/remote nfs rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/var/lib/pipecat-ops/ops.db", None),
        ("/tmp/ops.db", None),
        ("/mnt/ops/ops.db", "nfs4"),
        ("/mnt/ops/deep/er/ops.db", "nfs4"),
        ("/mnt/ops/local/ops.db", None),  # a local disk mounted inside the NFS share
        ("/mnt/opsx/ops.db", None),  # a sibling whose name starts the same is not inside
        ("/mnt/smb/ops.db", "cifs"),
        ("/mnt/smb3/ops.db", "smb3"),
        ("/home/me/remote/ops.db", "fuse.sshfs"),
        ("/mnt/ceph/ops.db", "ceph"),
        ("/mnt/gluster/ops.db", "glusterfs"),
        ("/mnt/9p/ops.db", "9p"),
        ("/mnt/with space/ops.db", None),
        ("/mnt/with space/remote/ops.db", "nfs"),
    ],
)
def test_network_filesystems_are_recognised(path: str, expected: str | None) -> None:
    assert network_filesystem(Path(path), MOUNTS) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///pipecat-ops.db", "pipecat-ops.db"),
        ("sqlite:////var/lib/ops.db", "/var/lib/ops.db"),
        ("sqlite+aiosqlite:////var/lib/ops.db", "/var/lib/ops.db"),
        ("sqlite:///my%20ops.db", "my ops.db"),
        ("sqlite:///:memory:", None),
        ("sqlite://", None),
        ("postgresql://u@db/ops", None),
    ],
)
def test_the_sqlite_file_of_a_database_url(url: str, expected: str | None) -> None:
    found = sqlite_path(url)
    assert (str(found) if found is not None else None) == expected


def fake_mounts(tmp_path: Path, fstype: str) -> Path:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\nnas:/share {tmp_path / 'share'} {fstype} rw 0 0\n")
    return mounts


def test_a_local_sqlite_file_is_accepted(tmp_path: Path) -> None:
    check_sqlite_location(f"sqlite:///{tmp_path / 'share' / 'ops.db'}", fake_mounts(tmp_path, "ext4"))
    check_sqlite_location("postgresql://u@db/ops", fake_mounts(tmp_path, "nfs"))


def test_a_symlink_into_a_network_share_is_followed(tmp_path: Path) -> None:
    (tmp_path / "share").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "share")
    with pytest.raises(UnsafeDatabaseLocation, match="nfs"):
        check_sqlite_location(f"sqlite:///{tmp_path / 'link' / 'ops.db'}", fake_mounts(tmp_path, "nfs"))


def test_the_store_refuses_to_open_sqlite_on_a_network_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_engine, "MOUNTS_FILE", fake_mounts(tmp_path, "nfs4"))
    with pytest.raises(UnsafeDatabaseLocation) as refused:
        Store.from_url(f"sqlite:///{tmp_path / 'share' / 'ops.db'}")
    message = str(refused.value)
    assert message.startswith("DATABASE_URL ") and "network filesystem (nfs4)" in message
    assert "\n" not in message and refused.value.variable == "DATABASE_URL"


def test_python_m_bot_exits_with_one_line_naming_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import EXIT_USAGE, main

    monkeypatch.setattr(store_engine, "MOUNTS_FILE", fake_mounts(tmp_path, "cifs"))
    monkeypatch.chdir(tmp_path)  # no .env
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "PIPECAT_API_KEY": "key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'share' / 'ops.db'}",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main([]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "DATABASE_URL" in err and "cifs" in err, err

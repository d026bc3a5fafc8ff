"""Where the text pipeline keeps what the text insights read: the taxonomy in use, and the original texts
(encrypted, when MOMENTI_TEXT_KEEP_ORIGINAL keeps them) behind the masked ones."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from momenti.core.errors import InputError

if TYPE_CHECKING:
    from momenti.core.config import Settings
    from momenti.store.raw import RawConnection

ORIGINAL_KEY_INFO = b"momenti text original v1"


def user_taxonomy_path(settings: Settings) -> Path:
    """Where `momenti text promote` writes topics; when it exists it is the taxonomy in use."""
    return Path(settings.data_dir) / "text" / "taxonomy.yaml"


def taxonomy_source(settings: Settings) -> str:
    """The sector name or file the taxonomy is loaded from: the user's file first, then MOMENTI_TEXT_SECTOR."""
    user = user_taxonomy_path(settings)
    return str(user) if user.exists() else settings.text_sector


def original_cipher(settings: Settings):  # noqa: ANN201 - cryptography.fernet.Fernet
    """The Fernet cipher of kept originals: its key is HKDF-SHA256(MOMENTI_SECRET_KEY, salt none,
    info ORIGINAL_KEY_INFO), 32 bytes. Without MOMENTI_SECRET_KEY, the random key kept in the data directory
    (`momenti.core.secrets.secret_key`) is used. A MultiFernet: it encrypts with the current key and decrypts
    with any key of the ring, so originals kept before `momenti secret rotate` stay readable."""
    from momenti.core.secrets import fernet

    return fernet(settings, ORIGINAL_KEY_INFO)


def decrypt_original(cipher, token: str) -> str:  # noqa: ANN001 - a Fernet
    from cryptography.fernet import InvalidToken

    try:
        return cipher.decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise InputError("a kept original text cannot be decrypted with any key of the ring (MOMENTI_SECRET_KEY and "
                         "MOMENTI_SECRET_KEYS_RETIRED, or secret.key and secret.retired in the data directory: the "
                         "key it was encrypted with is not among them): restore that key, or "
                         "set MOMENTI_TEXT_KEEP_ORIGINAL=false to drop the kept originals") from exc


def parse_item_key(key: str) -> tuple[str, int, int]:
    """A warehouse item_key ("answer:<response id>:<question id>" or "feedback:<id>") -> (kind, item_id,
    question_id) of the store's text_results."""
    parts = key.split(":")
    if parts[0] == "answer" and len(parts) == 3:
        return "answer", int(parts[1]), int(parts[2])
    if parts[0] == "feedback" and len(parts) == 2:
        return "feedback", int(parts[1]), 0
    raise ValueError(f"not an item key: {key!r}")


def read_originals(store: RawConnection, cipher, item_keys: list[str]) -> list[str | None]:  # noqa: ANN001
    """The original text of each item (warehouse item_key), decrypted; where none was kept (the original had
    nothing to mask, or had been dropped before MOMENTI_TEXT_KEEP_ORIGINAL was turned on) the store's text,
    which is then the masked text; None for an item without a result."""
    wanted = [parse_item_key(k) for k in item_keys]
    found: dict[tuple[str, int, int], str] = {}
    ids = sorted({i for _, i, _ in wanted})
    for n in range(0, len(ids), 1000):
        rows = store.fetch_arrow(
            "SELECT kind, item_id, question_id, original_enc, masked_text FROM text_results WHERE item_id IN ("
            + ", ".join(str(i) for i in ids[n:n + 1000]) + ")").to_pylist()
        for r in rows:
            key = (str(r["kind"]), int(r["item_id"]), int(r["question_id"]))
            found[key] = decrypt_original(cipher, r["original_enc"]) if r["original_enc"] else r["masked_text"]
    return [found.get(k) for k in wanted]

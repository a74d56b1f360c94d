"""The sole source of ids, mock time, random draws and Faker values: pure functions of
(seed, tenant, scope, endpoint, n, label), so a tenant's bytes never depend on other tenants' traffic."""

from __future__ import annotations

import datetime
import random
import uuid
from hashlib import blake2b
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from faker import Faker


def _digest(key: tuple[Any, ...]) -> bytes:
    # repr() of ints and strs is stable across processes, unlike hash(), which is salted.
    return blake2b(repr(key).encode(), digest_size=16).digest()


# A hex digit's two low bits under the RFC 4122 variant's high `10`, by the digit.
_VARIANT: Final = dict(zip("0123456789abcdef", "89ab89ab89ab89ab", strict=True))


def derive_uuid(key: tuple[Any, ...]) -> str:
    """A version-4-shaped UUID string from the key (formatted directly: uuid.UUID costs 3x more): the
    digest's hex with the version nibble set to 4 and the variant's two bits to `10`."""
    return _formatted(blake2b(repr(key).encode(), digest_size=16).hexdigest())


def _formatted(h: str) -> str:
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def derive_int(key: tuple[Any, ...]) -> int:
    return int.from_bytes(_digest(key), "big")


def derive_random(key: tuple[Any, ...]) -> random.Random:
    return random.Random(derive_int(key))


class FakerSource:
    """One Faker per app, created on first use: importing Faker costs a tenth of a second, which
    stays out of startup for fixtures that never draw from it."""

    __slots__ = ("_faker", "_providers", "locale")

    def __init__(self, locale: str = "en_US") -> None:
        self.locale = locale
        self._faker: Faker | None = None
        self._providers: frozenset[str] | None = None

    def _instance(self) -> Faker:
        if self._faker is None:
            from faker import Faker

            self._faker = Faker(self.locale)
        return self._faker

    def draw(self, seed: int, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.has_provider(provider):  # checked at load too; never a Faker or generator method
            raise ValueError(f"'fake.{provider}' is not a Faker data provider")
        faker = self._instance()
        # Seed and draw with no await in between, so concurrent requests cannot interleave here.
        faker.seed_instance(seed)
        method = getattr(faker, provider)
        return plain(method(*args, **kwargs))

    def has_provider(self, provider: str) -> bool:
        """A method of one of Faker's data providers: not the proxy's or the generator's own
        (`provider`, `get_providers`, `add_provider`, `set_formatter`, `parse`, ...), which would hand
        a template Python objects or change the shared Faker, and none of the few that make files or
        objects (NOT_DATA)."""
        if self._providers is None:
            names = {
                name
                for source in self._instance().providers
                for name in dir(source)
                if not name.startswith("_") and callable(getattr(source, name, None))
            }
            self._providers = frozenset(names - NOT_DATA)
        return provider in self._providers


# Data providers whose values are files, images or Python objects rather than text and numbers.
NOT_DATA: Final = frozenset({"binary", "enum", "image", "json_bytes", "pyobject", "tar", "xml", "zip"})
_PLAIN: Final = (str, int, float, bool, type(None), datetime.date, datetime.time, uuid.UUID)  # orjson writes these


def plain(value: Any) -> Any:
    """A Faker value as JSON data: sets and tuples as lists, other non-JSON values (a Decimal, a
    timedelta, bytes) as their text; str, numbers, dates and uuids as they are (orjson writes them)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


class Draws:
    """The deterministic values of one admitted request: `uuid(label)` is stable per label."""

    __slots__ = ("_faker", "_ids", "_prefix", "key")

    def __init__(self, seed: int, tenant: str, scope: str, endpoint: str, n: int, faker: FakerSource) -> None:
        self.key = (seed, tenant, scope, endpoint, n)
        self._faker = faker
        self._ids: dict[str, str] = {}
        # repr((*key, label)) is this prefix, repr(label) and ")": each label's id without a new tuple.
        # Written out, not repr(self.key)[:-1]: a tuple's repr costs twice this (its recursion guard).
        self._prefix = f"({seed!r}, {tenant!r}, {scope!r}, {endpoint!r}, {n!r}, "

    def uuid(self, label: str) -> str:
        value = self._ids.get(label)
        if value is None:
            h = blake2b(f"{self._prefix}{label!r})".encode(), digest_size=16).hexdigest()
            # _formatted(h), written out: three ids a chat
            value = self._ids[label] = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
        return value

    def pin(self, label: str, value: str) -> None:
        """Make `ids.<label>` an existing id (e.g. a continued conversation's)."""
        self._ids[label] = value

    def random(self, label: str) -> random.Random:
        return derive_random((*self.key, label))

    def fake(self, label: str, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self._faker.draw(derive_int((*self.key, label)) % (2**63), provider, args, kwargs)

    def lookup(self, label: str) -> str:  # `{{ ids.<label> }}` in templates
        return self.uuid(label)

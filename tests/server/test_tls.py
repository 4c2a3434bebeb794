"""serve over TLS: wss and https with a certificate and key from the settings."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rooms.roles import Role
from server.app import WealthroomServer
from server.errors import ConfigError
from simulator.client import RoomClient
from tests.conftest import SECRET, make_settings


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_rooms_are_served_over_wss_and_health_over_https(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    settings = make_settings(tls_cert=cert, tls_key=key)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        assert srv.room_url("demo").startswith("wss://127.0.0.1:")
        token = srv.tokens.mint(room="demo", role=Role.CUSTOMER, subject="tls")
        client = await RoomClient.join(srv.room_url("demo"), token, "Ann", tls=trust)
        await client.chat("over TLS")
        await client.wait_for(lambda c: bool(c.chats))
        assert client.chats[0].text == "over TLS"

        def health() -> int:
            with urllib.request.urlopen(f"{srv.base_url}/healthz", context=trust) as resp:
                status: int = resp.status
                return status

        assert await asyncio.to_thread(health) == 200
        # A client that does not trust the certificate gets no room.
        with pytest.raises(ssl.SSLCertVerificationError):
            await RoomClient.open(srv.room_url("demo"), token)
        await client.close()


def test_a_certificate_without_its_key_is_a_config_error(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path)
    with pytest.raises(ConfigError, match="both a certificate"):
        WealthroomServer(make_settings(tls_cert=cert), secret=SECRET)


def test_an_unreadable_certificate_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match="cannot load"):
        WealthroomServer(make_settings(tls_cert=bad, tls_key=bad), secret=SECRET)

"""The server's TLS context. Refused early and plainly: a half-configured TLS (a certificate
without its key) must stop the node at start, not serve plain text by surprise."""

from __future__ import annotations

import ssl

from server.config import Settings
from server.errors import ConfigError


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server TLS context from the settings' certificate and key, or None for plain."""
    cert, key = settings.tls_cert, settings.tls_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ConfigError("TLS needs both a certificate (tls_cert) and its key (tls_key)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate or key: {exc}") from exc
    return context

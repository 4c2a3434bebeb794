"""Settings, from the environment (``WEALTHROOM_*``) and command-line overrides."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.limits import MAX_FRAME_BYTES
from rooms.limits import RoomLimits
from server.event_loop import LoopChoice


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEALTHROOM_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    public_url: str | None = Field(
        None, description="base URL clients use, if not http://host:port (behind a proxy)"
    )
    tick_hz: int = Field(30, ge=1, le=240)
    tick_slots: int = Field(
        2,
        ge=1,
        le=16,
        description="phases of the tick rooms share: fewer judge more poses in one batch, "
        "more spread the frames' writes over the period",
    )
    event_loop: LoopChoice = Field(
        "auto", description="auto: uvloop where it is installed (a busy node's I/O is cheaper)"
    )
    tls_cert: Path | None = Field(None, description="PEM certificate chain: serve https and wss")
    tls_key: Path | None = Field(None, description="PEM private key for tls_cert")

    secret: SecretStr | None = Field(None, description="token signing key, 32+ bytes")
    secret_file: Path = Path("var/dev-secret")
    audit_key: SecretStr | None = Field(
        None, description="audit chain key, 32+ bytes, not the token key; all nodes share it"
    )
    audit_key_file: Path = Path("var/audit-key")
    token_ttl_s: int = Field(3600, ge=10, description="lifetime of the room tokens it mints")
    max_room_token_s: int = Field(3600, ge=10, description="room tokens living longer: refused")
    max_console_token_s: int = Field(12 * 3600, ge=10, description="the same for consoles")

    origins: tuple[str, ...] = Field(
        (), description="exact Origin values browsers may connect from; own URL always allowed"
    )
    audit_path: Path | None = Field(
        Path("var/audit.jsonl"), description="hash-chained audit log; empty: kept in memory"
    )
    totp_path: Path | None = Field(
        Path("var/totp.json"), description="customers' TOTP enrolments; empty: in memory"
    )
    factor_path: Path | None = Field(
        Path("var/factors.json"),
        description="step-up failures, lock-outs and spent codes per customer; empty: in memory"
        " (distributed mode keeps them in Redis)",
    )
    content_dir: Path | None = Field(
        None,
        description="the bank's personas, products, FAQs, routing terms and portfolios; files"
        " it lacks are the package's; changes are picked up without a restart",
    )
    content_poll_s: float = Field(2.0, gt=0, description="how often content_dir is looked at")
    appointments_path: Path | None = Field(
        Path("var/appointments.sqlite3"),
        description="appointment slots (SQLite); empty: in memory (distributed mode: Redis)",
    )
    appointment_head_start_s: float = Field(
        120.0, ge=0, description="a booked advisor alone sees their appointment's page this long"
    )
    appointment_poll_s: float = Field(
        1.0, gt=0, le=60, description="how often the node looks for appointments due"
    )
    max_booking_token_s: int = Field(
        14 * 24 * 3600, ge=10, description="booking links living longer: refused"
    )
    demo_room: str | None = "demo"
    layout: str = "private_room"  # for rooms whose opening token names no layout
    empty_room_ttl_s: float = Field(30.0, ge=0)

    max_frame_bytes: int = Field(MAX_FRAME_BYTES, ge=256, le=MAX_FRAME_BYTES)
    # Frames above this are cut by the WebSocket layer (close 1009) before we read them;
    # between max_frame_bytes and this, the client gets an error frame and stays connected.
    hard_frame_bytes: int = Field(4 * MAX_FRAME_BYTES, ge=256)
    rate: float = Field(120.0, gt=0)
    burst: float = Field(240.0, gt=0)
    chat_rate: float = Field(5.0, gt=0)
    strikes: float = Field(20.0, gt=0, description="bad frames a connection may send in a burst")
    join_timeout_s: float = Field(10.0, gt=0)
    idle_timeout_s: float = Field(900.0, gt=0)
    max_connections_per_subject: int = Field(4, ge=1)
    max_reliable_backlog: int = Field(4096, ge=16)
    max_request_bytes: int = Field(
        16 * 1024, ge=1024, description="handshake request, headers included; more gets 431"
    )
    max_unsent_bytes: int = Field(
        4 * 1024 * 1024, ge=64 * 1024, description="written but not read by the peer; more aborts"
    )
    handshake_rate: float = Field(
        20.0, ge=0, description="WebSocket handshakes per second per source address; 0: no limit"
    )
    handshake_burst: float = Field(100.0, ge=1)
    max_fragments: int = Field(256, ge=1, description="frames one message may be split into")
    max_message_open_s: float = Field(10.0, gt=0, description="time one message may stay open")

    max_experts: int = Field(4, ge=0, le=16, description="digital experts in a room at once")
    expert_idle_s: float = Field(300.0, gt=0, description="an expert leaves after this quiet")
    brain_url: str | None = Field(
        None, description="OpenAI-compatible endpoint for experts' answers; empty: local"
    )
    brain_model: str = "gpt-4o-mini"
    brain_api_key: SecretStr | None = None
    brain_timeout_s: float = Field(10.0, gt=0, description="then the local brain answers")
    redis_url: str | None = Field(
        None, description="redis://...: distributed mode (rooms, presence, pages shared)"
    )
    node_id: str = Field("local", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    redis_prefix: str = "wr:"
    lease_s: float = Field(3.0, ge=0.5, description="a dead node's rooms move after this")
    liveness_s: float = Field(
        1.0,
        ge=0.2,
        description="a node silent this long loses its rooms to the next node asked for one",
    )

    media: bool = Field(True, description="voice and video over WebRTC")
    media_connect_timeout_s: float = Field(
        15.0, gt=0, description="a member's media that has not connected by then is closed"
    )
    max_media_peers: int = Field(64, ge=1, description="WebRTC peers this server holds at once")
    ice_servers: tuple[str, ...] = Field(
        (), description="stun:/turn: URLs for the server's peers (none needed on a LAN)"
    )
    member_ice_urls: tuple[str, ...] = Field(
        (), description="stun:/turn: URLs handed to members (turn: needs turn_secret)"
    )
    turn_secret: SecretStr | None = Field(
        None, description="the TURN relay's static-auth-secret: members get time-limited logins"
    )
    turn_ttl_s: int = Field(3600, ge=60, description="how long a member's TURN login lasts")
    speech: bool = Field(True, description="experts speak (espeak-ng) when it is installed")
    asr_url: str | None = Field(
        None,
        description="OpenAI-compatible transcription endpoint (base URL); empty: offline English",
    )
    asr_model: str = "whisper-1"
    asr_api_key: SecretStr | None = None
    asr_timeout_s: float = Field(8.0, gt=0, description="then offline English or 'please type'")
    asr_domain: bool = Field(
        True, description="offline English hears with a language model of the bank's sentences"
    )
    asr_fallback_below: float = Field(
        0.0, ge=0, le=1, description="below this confidence the general model is tried as well"
    )
    voice_confirm_below: float = Field(
        0.5, ge=0, le=1, description="a spoken question heard with less confidence is confirmed"
    )
    voice_guests: bool = Field(True, description="guests may ask by voice (where they may ask)")
    recordings_dir: Path = Field(Path("var/recordings"), description="where recordings go")
    retention_days: int = Field(
        2555, ge=1, le=36500, description="how long recordings are kept (default 7 years)"
    )

    @model_validator(mode="after")
    def _tokens_within_their_cap(self) -> Settings:
        if self.token_ttl_s > self.max_room_token_s:
            raise ValueError(
                f"token_ttl_s ({self.token_ttl_s}) is over max_room_token_s "
                f"({self.max_room_token_s}): the server would refuse its own tokens"
            )
        return self

    @field_validator(
        "audit_path",
        "totp_path",
        "factor_path",
        "content_dir",
        "appointments_path",
        "tls_cert",
        "tls_key",
        "secret",
        "audit_key",
        "public_url",
        "brain_url",
        "brain_api_key",
        "asr_url",
        "asr_api_key",
        "redis_url",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # WEALTHROOM_AUDIT_PATH= (set but empty) means "none", not the current directory.
        return None if value == "" else value

    def room_limits(self) -> RoomLimits:
        return RoomLimits(
            max_frame_bytes=self.max_frame_bytes,
            rate=self.rate,
            burst=self.burst,
            chat_rate=self.chat_rate,
            chat_burst=self.chat_rate * 2,
            strikes=self.strikes,
            join_timeout_s=self.join_timeout_s,
            idle_timeout_s=self.idle_timeout_s,
            max_experts=self.max_experts,
            expert_idle_s=self.expert_idle_s,
            retention_days=self.retention_days,
        )

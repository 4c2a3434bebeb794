"""Thin clients' media: a WebRTC peer opened after each arrival, its first picture awaited, and
what it received kept when the bot leaves or drops (judged by
:func:`simulator.verdict.check_media`)."""

from __future__ import annotations

import contextlib

from websockets.exceptions import ConnectionClosed

from simulator.bot import Bot
from simulator.client import RoomClient
from simulator.media import RtcMedia, SyntheticMicrophone
from simulator.steps.context import StepContext, StepFailed
from simulator.verdict import FIRST_FRAME_LIMIT_S, STUTTER_S, MediaSession

VIEW = "view"  # the source name of a thin client's picture in the server's offers
PITCHES = (196.0, 247.0, 294.0)  # each speaking thin bot hums its own note


async def media_up(ctx: StepContext, bots: list[Bot]) -> None:
    """Open each thin bot's peer (view ``thin``, its microphone if it may speak) and wait
    for the first picture: a thin client shows nothing of the room before it."""
    if not bots:
        return
    world = ctx.world
    start = world.clock()
    for bot in bots:
        link = bot.link
        if not isinstance(link, RoomClient):
            raise StepFailed(f"{bot.name} is a thin client, which needs a real connection")
        speaker = sorted(ctx.bots).index(bot.name) % len(PITCHES)
        mic = SyntheticMicrophone(PITCHES[speaker]) if bot.spec.speaks else None
        media = RtcMedia(link, audio=mic, view="thin", dc=True)
        bot.media = media
        with contextlib.suppress(ConnectionClosed):  # gone already: judged as no picture
            await media.open()
    if await ctx.wait(lambda: all(picture(b) for b in bots), FIRST_FRAME_LIMIT_S):
        ctx.time("media -> first picture", world.clock() - start)
        return
    for bot in bots:
        if not picture(bot):
            media = bot.media
            state = media.pc.connectionState if media is not None else "none"
            channel = "open" if media is not None and media.channel_open else "not open"
            ctx.find(
                "media",
                f"{bot.name} saw no picture of its view within {FIRST_FRAME_LIMIT_S:g} s "
                f"of asking for media (peer {state}, data channel {channel})",
            )


def media_end(ctx: StepContext, bot: Bot) -> None:
    """Keep what the bot's peer received until now; the peer is closed later."""
    media = bot.media
    if media is None:
        return
    bot.media = None
    ended = ctx.world.clock()
    if media.client.closed and bot.closes:
        ended = min(ended, bot.closes[-1].at)  # the connection went before we knew
    bot.media_sessions.append(session(ctx, bot, media, ended))
    ctx.ended.append(media)


def session(ctx: StepContext, bot: Bot, media: RtcMedia, ended: float) -> MediaSession:
    stats = {t.source: t for t in media.stats()}
    view = stats.get(VIEW)
    longest, freezes = 0.0, 0
    if view is not None and view.last_frame_s is not None:
        tail = max(0.0, ended - media.opened_at - view.last_frame_s)
        longest = max(view.longest_gap_s, tail)
        freezes = view.freezes + (tail > STUTTER_S)
    reading = media.readings.get(VIEW)
    audio = [t for t in stats.values() if t.kind == "audio"]
    member = media.client.welcome.member if media.client.welcome is not None else None
    return MediaSession(
        connection=bot.ledger.connection,
        member=member,
        opened_at=media.opened_at - ctx.world.started_at,
        ended_at=ended - ctx.world.started_at,
        view_frames=view.frames if view is not None else 0,
        first_frame_s=view.first_frame_s if view is not None else None,
        longest_freeze_s=longest,
        freezes=freezes,
        view_sizes=tuple(sorted(reading.sizes)) if reading is not None else (),
        audio_frames={t.source: t.frames for t in audio},
        loud_frames={t.source: t.loud_frames for t in audio},
        poses_on_channel=media.poses_sent,
        speaks=media.audio is not None,
    )


async def media_close(ctx: StepContext) -> None:
    ended, ctx.ended = ctx.ended, []
    for media in ended:
        await media.close()


def picture(bot: Bot) -> bool:
    media = bot.media
    return media is not None and media.frames(VIEW) > 0 and media.channel_open

"""Every service a node runs with, built once from the settings: brains, the paging desk,
second factors, portfolios, media. Built apart from the server so that what a room is given
(:class:`~server.room_host.Services`) is decided in one place, and closed in one place."""

from __future__ import annotations

import time
from dataclasses import dataclass

from advisors.desk import PageDesk
from avatars.advice import Brain
from avatars.expertise import Expertise
from avatars.local_brain import LocalBrain
from server.cluster.wiring import Cluster
from server.config import Settings
from server.content import Content
from server.invites import Inviter
from server.llm_brain import OpenAICompatibleBrain
from server.media.node import media_node
from server.media.room_media import MediaNode
from server.metrics import Metrics
from server.portfolios import ContentPortfolios, Portfolios
from server.room_host import Services
from server.second_factor import FileEnrolments, TotpChecker


@dataclass(slots=True)
class NodeServices:
    content: Content  # the content in use, reloaded while the node runs
    fallback_brain: LocalBrain
    brain: Brain
    desk: PageDesk
    enrolments: FileEnrolments
    factors: TotpChecker
    portfolios: Portfolios
    media: MediaNode | None  # None: this node carries no voice or video
    for_rooms: Services  # what every room on the node shares

    @property
    def expertise(self) -> Expertise:
        return self.content.current

    async def close(self) -> None:
        if self.media is not None:
            await self.media.close()
        if isinstance(self.brain, OpenAICompatibleBrain):
            await self.brain.aclose()


def brain_for(settings: Settings, fallback: LocalBrain) -> Brain:
    """The configured model, which falls back to the local brain; or the local brain alone."""
    if not settings.brain_url:
        return fallback
    key = settings.brain_api_key.get_secret_value() if settings.brain_api_key else None
    return OpenAICompatibleBrain(
        settings.brain_url,
        settings.brain_model,
        key,
        timeout_s=settings.brain_timeout_s,
        fallback=fallback,
    )


def build_services(
    settings: Settings, cluster: Cluster, metrics: Metrics, *, inviter: Inviter | None = None
) -> NodeServices:
    content = Content(settings.content_dir, poll_s=settings.content_poll_s)
    # The local brain looks up key risks a brief's product lacks; a brief carries its products.
    fallback = LocalBrain(content.current.knowledge)
    brain = brain_for(settings, fallback)
    c = cluster
    desk = PageDesk(c.presence, c.board, c.bus, clock=time.time, node=settings.node_id)
    enrolments = FileEnrolments(settings.totp_path)
    factors = TotpChecker(enrolments, c.factors)
    portfolios: Portfolios = ContentPortfolios(content)
    media = media_node(settings) if settings.media else None
    for_rooms = Services(
        metrics,
        c.audit,
        brain,
        fallback,
        desk,
        factors,
        portfolios,
        store=c.store,
        media=media,
        brain_timeout_s=settings.brain_timeout_s,
        max_reliable=settings.max_reliable_backlog,
        inviter=inviter,
    )
    return NodeServices(
        content, fallback, brain, desk, enrolments, factors, portfolios, media, for_rooms
    )

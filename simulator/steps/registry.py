"""Which handler carries out which kind of step.

Keyed by step class, each entry made by :func:`handles`, so that mypy checks every handler
against the step it is given; :func:`handler_for` refuses a step nobody handles by name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from simulator import scenario as sc
from simulator.steps import advising, checkpoint, moving, network, presence, talking
from simulator.steps.context import StepContext

S = TypeVar("S", bound=sc.Step)
StepHandler = Callable[[StepContext, sc.Step], Awaitable[None]]


class UnknownStep(sc.ScenarioError):
    """A step of a kind no handler carries out."""


def handles(
    kind: type[S], handler: Callable[[StepContext, S], Awaitable[None]]
) -> tuple[type[sc.Step], StepHandler]:
    # The cast forgets which step class the handler takes; the lookup by type(step) keeps
    # every handler to steps of its own class.
    return kind, cast(StepHandler, handler)


HANDLERS: dict[type[sc.Step], StepHandler] = dict(
    [
        handles(sc.Join, presence.join),
        handles(sc.Leave, presence.leave),
        handles(sc.Churn, presence.churn),
        handles(sc.Reconnect, presence.reconnect),
        handles(sc.Drop, presence.drop),
        handles(sc.Delay, network.delay),
        handles(sc.Stall, network.stall),
        handles(sc.Idle, network.idle),
        handles(sc.LookAround, moving.look_around),
        handles(sc.Walk, moving.walk),
        handles(sc.Sit, moving.sit),
        handles(sc.Stand, moving.stand),
        handles(sc.Chat, talking.chat),
        handles(sc.Ask, talking.ask),
        handles(sc.WaitFor, talking.wait_for),
        handles(sc.Dismiss, talking.dismiss),
        handles(sc.Console, advising.console),
        handles(sc.AcceptPage, advising.accept_page),
        handles(sc.Present, advising.present),
        handles(sc.Checkpoint, checkpoint.checkpoint),
    ]
)


def handler_for(step: sc.Step) -> StepHandler:
    handler = HANDLERS.get(type(step))
    if handler is None:
        raise UnknownStep(f"step {step.index} ({step.label}): no handler for {type(step).__name__}")
    return handler

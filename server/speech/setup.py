"""The transcriber the settings ask for: the endpoint in front when there is one, with the
offline English recogniser (the bank's words, and a language model of the bank's sentences)
behind it."""

from __future__ import annotations

from server.config import Settings
from server.speech.domain_lm import domain_sentences
from server.speech.endpoint import EndpointTranscriber
from server.speech.results import Transcriber
from server.speech.sphinx import SphinxTranscriber
from server.speech.vocabulary import load_bank_vocabulary


def make_transcriber(settings: Settings) -> Transcriber:
    offline = SphinxTranscriber(
        vocabulary=load_bank_vocabulary().words,
        domain=domain_sentences() if settings.asr_domain else (),
        fallback_below=settings.asr_fallback_below,
    )
    if settings.asr_url is None:
        return offline
    key = settings.asr_api_key.get_secret_value() if settings.asr_api_key else None
    return EndpointTranscriber(
        settings.asr_url,
        model=settings.asr_model,
        api_key=key,
        timeout_s=settings.asr_timeout_s,
        offline_english=offline,
    )

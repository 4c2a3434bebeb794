// Recording: the indicator, the notice every member answers before staying, and the
// advisor's Record button.

import { byId } from "./dom.js";
import { t } from "./i18n.js";
import { showToast } from "./room_toast.js";

export function mountRecording({ state, session }, media) {
  const consent = byId("consent-dialog");
  const recordButton = byId("record-button");

  function render() {
    const rec = state.recording;
    byId("rec-indicator").hidden = !rec;
    recordButton.setAttribute("aria-pressed", String(Boolean(rec)));
    recordButton.dataset.i18n = rec ? "advisor.record-stop" : "advisor.record";
    recordButton.textContent = t(recordButton.dataset.i18n);
    if (rec && consent.open) byId("consent-days").textContent = t("rec.days", { days: rec.days });
  }

  media.on("recording", (msg) => {
    if (!msg.on) {
      if (state.recording?.rec === msg.rec || !state.recording) {
        state.recording = null;
        if (consent.open) consent.close();
      }
      render();
      return;
    }
    state.recording = { rec: msg.rec, by: msg.by, days: msg.days, notice: msg.notice, seen: media.acknowledged.has(msg.rec) };
    render();
    if (state.recording.seen) return;
    if (msg.by === state.member) {
      // The advisor who pressed Record knows: their notice counts as seen.
      acknowledge();
      return;
    }
    byId("consent-notice").textContent = msg.notice;
    byId("consent-days").textContent = t("rec.days", { days: msg.days });
    if (!consent.open) consent.showModal();
    byId("consent-ok").focus();
  });

  function acknowledge() {
    const rec = state.recording;
    if (!rec) return;
    media.acknowledge(rec.rec);
    rec.seen = true;
    if (consent.open) consent.close();
  }

  byId("consent-ok").addEventListener("click", acknowledge);
  byId("consent-leave").addEventListener("click", () => {
    consent.close();
    media.stop();
    session.leave();
  });
  // Escape closes a dialog; this one must be answered.
  consent.addEventListener("cancel", (e) => e.preventDefault());
  recordButton.addEventListener("click", () => {
    if (!media.record(!state.recording)) showToast(t("chat.offline"));
  });

  return { render };
}

// The conversation panel: chat, questions to the digital experts and their answers, and every
// event of the room in seq order; and the composer that sends chat and questions.

import { byId, clock, el } from "./dom.js";
import { aiLabel, reasonText, specialty, t, tOr } from "./i18n.js";
import { Limits } from "./protocol.js";
import { showToast } from "./room_toast.js";
import { codePoints } from "./schema.js";

/** "you put ..." reads "You put ...": names are filled in mid-template. */
function sentence(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Hooks: `handoffText(msg)` words a hand-off; `onHandoff()`, `onExpert()` follow those
 * messages; `sendInterest(product)` asks for an advisor about a product. */
export function mountConversation({ state, session, scene }, { handoffText, onHandoff, onExpert, sendInterest }) {
  const names = new Map(); // member id -> display name
  const log = byId("log");

  function who(member) {
    if (member === state.member) return t("member.you");
    return names.get(member) ?? session.replica.byMember(member)?.n ?? `#${member}`;
  }

  function expertName(entity) {
    if (entity === undefined) return t("answer.concierge");
    const known = state.messages.find((m) => m.t === "expert" && m.e === entity);
    return known?.name ?? session.replica.entities.get(entity)?.n ?? t("answer.concierge");
  }

  function entryFor(msg) {
    const time = el("time", { class: "time", datetime: new Date(msg.at).toISOString() }, clock(msg.at));
    switch (msg.t) {
      case "chat":
        return el("li", { class: "chat" }, el("span", { class: "who" }, msg.name), el("span", { class: "text" }, msg.text), time);
      case "joined":
        return el("li", { class: "system" }, t("member.joined", { name: msg.name }), time);
      case "left":
        return el("li", { class: "system" }, sentence(t("member.left", { name: who(msg.member) })), time);
      case "asked":
        return el("li", { class: "question" }, t("asked", { name: msg.name, text: msg.text }), time);
      case "expert":
        return el(
          "li",
          { class: "system" },
          msg.st === "arrived"
            ? t("expert.arrived", { name: msg.name, label: aiLabel(msg.label), sp: specialty(msg.sp) })
            : t("expert.left", { name: msg.name }) + (msg.why ? ` (${tOr(`expert.why.${msg.why}`, msg.why)})` : ""),
          time,
        );
      case "answer":
        return el(
          "li",
          { class: "answer", dataset: { q: msg.q } },
          el(
            "div",
            { class: "meta" },
            el("span", { class: "who" }, expertName(msg.e)),
            el("span", { class: "ai-label" }, aiLabel(msg.label)),
            msg.sp ? el("span", { class: "muted" }, specialty(msg.sp)) : null,
            msg.risk ? el("span", { class: "risk", dataset: { risk: msg.risk } }, t("answer.risk", { risk: msg.risk })) : null,
            time,
          ),
          el("p", { class: "text" }, msg.text),
          msg.src.length ? el("p", { class: "sources" }, t("answer.sources", { src: msg.src.join(", ") })) : null,
          msg.handoff ? el("p", { class: "handoff-note" }, t("answer.handoff", { why: reasonText(msg.why) })) : null,
          // Interest in a product goes to an advisor (after the second factor), never to an expert.
          msg.product && state.role === "customer"
            ? el("button", { type: "button", class: "interest", onclick: () => sendInterest(msg.product) }, t("answer.interest"))
            : null,
        );
      case "handoff":
        return el("li", { class: "system" }, handoffText(msg), time);
      case "presented":
        return el(
          "li",
          { class: "system" },
          msg.c ? sentence(t("screen.presented", { name: who(msg.by), title: msg.title })) : t("screen.cleared"),
          time,
        );
      case "recording":
        return el("li", { class: "system recording" }, msg.on ? sentence(t("rec.started", { name: who(msg.by) })) : t("rec.stopped"), time);
      default:
        return null;
    }
  }

  // The newest line stays in view while the reader is with it (a new last line brings them
  // there): all of it, or, taller than the log (a long answer in large text), its beginning.
  // Large text, a font arriving late or a panel growing above the log change the layout after
  // a line is added: the log follows each change of its own size or its last line's, and once
  // more after the next layout.
  let pinned = true;
  const follow = new ResizeObserver(() => {
    if (pinned) toNewest();
  });
  follow.observe(log);
  let watched = null; // the last line, whose size is followed

  function newestScroll() {
    const last = log.lastElementChild;
    const bottom = log.scrollHeight - log.clientHeight;
    if (!last) return bottom;
    const top = log.scrollTop + last.getBoundingClientRect().top - log.getBoundingClientRect().top;
    return Math.min(bottom, Math.max(0, Math.round(top)));
  }

  function toNewest() {
    log.scrollTop = newestScroll();
  }

  log.addEventListener("scroll", () => {
    pinned = Math.abs(log.scrollTop - newestScroll()) < 40;
  });

  /** Insert in seq order: replays (a screen shown before we came) can arrive out of order. */
  function addEntry(msg) {
    const li = entryFor(msg);
    if (!li) return;
    li.dataset.seq = msg.seq;
    const after = [...log.children].find((c) => Number(c.dataset.seq) > msg.seq);
    log.insertBefore(li, after ?? null);
    if (!after) pinned = true;
    if (log.lastElementChild !== watched) {
      if (watched) follow.unobserve(watched);
      watched = log.lastElementChild;
      follow.observe(watched);
    }
    if (pinned) {
      toNewest();
      requestAnimationFrame(() => pinned && toNewest());
    }
  }

  function rerender() {
    log.replaceChildren();
    for (const msg of state.messages) addEntry(msg);
  }

  session.on("reliable", (msg) => {
    const at = state.messages.findIndex((m) => m.seq > msg.seq);
    state.messages.splice(at < 0 ? state.messages.length : at, 0, msg);
    switch (msg.t) {
      case "chat":
        state.chat.push({ seq: msg.seq, by: msg.by, name: msg.name, text: msg.text, at: msg.at });
        break;
      case "joined":
        names.set(msg.member, msg.name);
        break;
      case "answer":
        state.answers.push(msg);
        break;
      case "handoff":
        state.handoff = msg;
        onHandoff();
        break;
      case "presented":
        state.presented[msg.screen] = msg;
        scene.setChart(msg);
        break;
      case "expert":
        onExpert();
        break;
    }
    addEntry(msg);
  });

  // --- composing ------------------------------------------------------------------------------

  const message = byId("message");

  function sendText(kind) {
    const text = message.value.trim();
    if (!text) return;
    if (kind === "ask" && codePoints(text) > Limits.MAX_QUESTION_CHARS) {
      showToast(t("error.generic", { msg: `≤ ${Limits.MAX_QUESTION_CHARS}` }));
      return;
    }
    // Not connected: the text stays in the box, to be sent when we are back.
    if (!session.joined || !session.send(kind === "ask" ? { t: "ask", text } : { t: "chat", text })) {
      byId("composer-note").hidden = false;
      return;
    }
    message.value = "";
    byId("composer-note").hidden = true;
  }

  byId("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    sendText("chat");
  });
  byId("send-ask").addEventListener("click", () => sendText("ask"));
  message.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText("chat");
    }
  });

  return { names, rerender };
}

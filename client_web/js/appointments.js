// Appointments as people read them: every time comes from the server in Unix ms (UTC) and is
// shown in the viewer's own time zone, named, so that an advisor in one city and a customer
// in another never misread each other's "10:00". Shared by the console and the booking page.

import { ErrorCode } from "./codec.js";
import { currentLang, t } from "./i18n.js";

const LOCALES = { en: "en-GB", zh: "zh-CN", yue: "zh-HK" };

/** "Mon 7 Dec 2026, 10:00 GMT+8": the date, the time and the viewer's time zone. */
export function when(ms) {
  return new Intl.DateTimeFormat(LOCALES[currentLang()] ?? undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  }).format(new Date(ms));
}

/** "10:30" in the viewer's zone: the end of a slot that starts on the same day. */
export function until(ms) {
  return new Intl.DateTimeFormat(LOCALES[currentLang()] ?? undefined, { hour: "2-digit", minute: "2-digit" }).format(
    new Date(ms),
  );
}

/** The viewer's time zone, as the browser knows it ("Asia/Hong_Kong"). */
export function zone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** A `<input type="datetime-local">` value (local wall time) as Unix ms, or NaN. */
export function fromLocalInput(value) {
  return value ? new Date(value).getTime() : NaN;
}

/** Unix ms as a `<input type="datetime-local">` value in local wall time. */
export function toLocalInput(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const REFUSALS = {
  [ErrorCode.NO_SUCH_SLOT]: "appt.no-slot",
  [ErrorCode.SLOT_TAKEN]: "appt.taken",
  [ErrorCode.SLOT_PAST]: "appt.past",
  [ErrorCode.SLOT_OVERLAP]: "appt.overlap",
  [ErrorCode.BOOKING_LIMIT]: "appt.limit",
  [ErrorCode.NOT_YOUR_BOOKING]: "appt.not-yours",
};

/** What to tell a person whose appointment request was refused. */
export function refusalText(err) {
  const key = REFUSALS[err.code];
  return key ? t(key) : t("error.generic", { msg: err.msg });
}

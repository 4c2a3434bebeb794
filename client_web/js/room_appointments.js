// A customer's appointments from the room page: the "Appointments" button opens the booking
// page with this room's token (appointments booked there open this room), and a reminder
// shows here when one is due, its time in the customer's own time zone, until an advisor
// walks in.

import { when } from "./appointments.js";
import { BookingSession } from "./connection.js";
import { byId } from "./dom.js";
import { t } from "./i18n.js";
import { sameOriginSocket, tokenClaims } from "./link_params.js";
import { showToast } from "./room_toast.js";

export function mountAppointments({ link, state, session: room }) {
  const button = byId("appt-button");
  const reminder = byId("appt-reminder");
  state.appointments = [];
  let last = null;
  const render = () => {
    if (!last) return;
    reminder.textContent = t("appt.reminder", { adv: last.adv, at: when(last.start) });
    reminder.hidden = false;
  };
  if (!link.token || tokenClaims(link.token).role !== "customer") return { render, session: null };
  button.hidden = false;
  button.addEventListener("click", () => {
    window.open(`/book.html#token=${encodeURIComponent(link.token)}`, "_blank", "noopener");
  });
  const session = new BookingSession(sameOriginSocket("/book"), link.token);
  session.on("appointment", (msg) => {
    state.appointments.push(msg);
    last = msg;
    render();
    showToast(reminder.textContent);
  });
  session.start();
  // The reminder has done its work once an advisor walks in.
  room.on("reliable", (msg) => {
    if (msg.t === "joined" && msg.role === "advisor" && last) {
      last = null;
      reminder.hidden = true;
    }
  });
  window.addEventListener("pagehide", () => session.stop());
  return { render, session };
}

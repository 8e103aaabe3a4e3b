// What asks for the reader's attention: the unread count in the tab's title while the tab is
// hidden, the last message seen in each room (kept in this browser), and desktop
// notifications of mentions, which a person turns on with a button (never asked on load).

const LAST_SEEN_KEY = "devrooms:last-seen:";
const NOTIFY_KEY = "devrooms:notify-mentions";

export const pageHidden = () => document.visibilityState === "hidden";

/** localStorage, or nothing when the browser refuses it (private modes, blocked storage). */
function stored(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key);
    localStorage.setItem(key, value);
  } catch {
    return null;
  }
  return value;
}

/** "(3) React · DevRooms" while hidden; `onSeen` runs each time the page is shown again. */
export function unreadTitle({ onSeen }) {
  const title = document.title;
  let unread = 0;
  document.addEventListener("visibilitychange", () => {
    if (pageHidden()) return;
    unread = 0;
    document.title = title;
    onSeen();
  });
  return {
    /** Count a message that arrived; only while the page is hidden. */
    count() {
      if (!pageHidden()) return;
      unread += 1;
      document.title = `(${unread}) ${title}`;
    },
  };
}

/** The last message ({time, id}) this browser showed in `room`, or null. */
export function lastSeenRead(room) {
  try {
    const value = JSON.parse(stored(LAST_SEEN_KEY + room));
    return Number.isFinite(value?.time) && typeof value.id === "string" ? value : null;
  } catch {
    return null;
  }
}

export function lastSeenWrite(room, { time, id }) {
  stored(LAST_SEEN_KEY + room, JSON.stringify({ time, id }));
}

/**
 * Desktop notifications of mentions, off until the person presses `button`; the browser's
 * permission prompt comes only from that press. Returns `notify(message)`.
 */
export function mentionNotifications(button, { room }) {
  if (!("Notification" in window)) return { notify() {} };
  let on = Notification.permission === "granted" && stored(NOTIFY_KEY) === "on";
  const show = () => {
    button.setAttribute("aria-pressed", String(on));
    const blocked = Notification.permission === "denied";
    button.disabled = blocked;
    button.title = blocked ? "Notifications are blocked in this browser's settings." : "";
  };
  button.addEventListener("click", async () => {
    on = !on && (await Notification.requestPermission()) === "granted";
    stored(NOTIFY_KEY, on ? "on" : "off");
    show();
  });
  button.hidden = false;
  show();
  return {
    notify(message) {
      if (!on || !pageHidden()) return;
      const notification = new Notification(`${message.username} mentioned you in ${room}`, {
        body: message.message,
        tag: message.id,
      });
      notification.addEventListener("click", () => window.focus());
    },
  };
}

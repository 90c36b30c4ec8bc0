// Live "N left" on event pages, pushed by the server's socket.io namespace `/live`
// (bilten/live_inventory.py) on the tab's Reflex websocket, one message per sale burst, rendered here
// in the browser. No Reflex event or state round trip is involved.
import { Children, cloneElement, createElement, isValidElement, useEffect, useSyncExternalStore } from "react";
import { Badge } from "@radix-ui/themes";
import io from "socket.io-client";
import env from "$/env.json";
import reflexEnvironment from "$/reflex.json";
import { getBackendURL, getToken } from "$/utils/state";

const counts = new Map(); // event id -> { ticket type id: seats left }
const watchers = new Map(); // event id -> number of mounted components showing it
const listeners = new Set();
let socket = null;

function notify() {
  for (const listener of listeners) listener();
}

function store(message) {
  if (message && message.event_id && message.available) {
    counts.set(message.event_id, { ...(counts.get(message.event_id) || {}), ...message.available });
    notify();
  }
}

function watch(eventId) {
  socket.emit("watch", eventId, store);
}

function connection() {
  if (socket === null) {
    // Same host, port and path as Reflex's own websocket (`/_event`), another namespace, and the
    // same options as Reflex's socket (utils/state.js createSocket): socket.io-client then
    // multiplexes both namespaces over ONE websocket per tab, whichever of the two is made first.
    // A second connection per tab costs the server about 200 KB and its own heartbeats.
    const endpoint = getBackendURL(env.EVENT);
    socket = io(endpoint.origin + "/live", {
      path: endpoint.pathname,
      transports: [env.TRANSPORT],
      protocols: [reflexEnvironment.version],
      autoUnref: false,
      query: { token: getToken() },
      reconnection: false, // Reflex reopens the shared connection itself (visibility, backoff)
    });
    // (Re)connected: follow again; the answer carries the counts missed meanwhile.
    socket.on("connect", () => {
      for (const eventId of watchers.keys()) watch(eventId);
    });
    socket.on("inventory", store);
    // When Reflex reopens the shared connection after we let go of it (pagehide), join again.
    socket.io.on("open", () => {
      if (!socket.active) socket.connect();
    });
    // A manager Reflex made does not connect new namespaces by itself (autoConnect: false).
    socket.connect();
    // Let go on pagehide too, so the shared connection closes with Reflex's (bfcache, no stale tab).
    window.addEventListener("pagehide", () => socket.disconnect());
  }
  return socket;
}

function follow(eventId) {
  const before = watchers.get(eventId) || 0;
  watchers.set(eventId, before + 1);
  const live = connection();
  if (before === 0 && live.connected) watch(eventId);
  return () => {
    const left = (watchers.get(eventId) || 1) - 1;
    if (left > 0) {
      watchers.set(eventId, left);
      return;
    }
    watchers.delete(eventId);
    counts.delete(eventId);
    if (live.connected) live.emit("unwatch", eventId);
  };
}

function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// The seats left of one ticket type: the pushed count once one arrived, else `initial`.
export function useSeatsLeft(eventId, typeId, initial) {
  useEffect(() => (eventId ? follow(eventId) : undefined), [eventId]);
  const pushed = useSyncExternalStore(
    subscribe,
    () => (counts.get(eventId) || {})[typeId],
    () => undefined,
  );
  return pushed === undefined ? Number(initial || 0) : Number(pushed);
}

// "1 left", "12 left": the form of the count's CLDR plural category (one, few, many, ...).
function countText(forms, lang, count) {
  let category = "other";
  try {
    category = new Intl.PluralRules(lang || "en").select(count);
  } catch {}
  const text = typeof forms === "string" ? forms : forms?.[category] ?? forms?.other ?? "{count}";
  return String(text).replaceAll("{count}", new Intl.NumberFormat(lang || "en", { numberingSystem: "latn" }).format(count));
}

// A badge "12 left" / "Sold out". `leftText` holds the translated forms (by plural category), with "{count}".
export function LiveSeatsLeft({ eventId, typeId, initial, leftText, lang, soldOutText, ...rest }) {
  const left = useSeatsLeft(eventId, typeId, initial);
  const text = left > 0 ? countText(leftText, lang, left) : soldOutText;
  return createElement(
    Badge,
    {
      ...rest,
      color: left > 0 ? "green" : "red",
      variant: "soft",
      size: "2",
      "data-left": String(left),
      // Screen readers announce the new count when a sale elsewhere changes it (WCAG 4.1.3).
      "aria-live": "polite",
      "aria-atomic": "true",
    },
    text,
  );
}

// Wraps a quantity picker's "+" button: disabled as soon as one more would not fit in the seats
// left now (the server's own limit comes from the page's load; the database judges the order).
export function LiveAddGuard({ eventId, typeId, initial, quantity, minPerOrder, children }) {
  const left = useSeatsLeft(eventId, typeId, initial);
  const blocked = Math.max(Number(quantity || 0) + 1, Number(minPerOrder || 1)) > left;
  return Children.map(children, (child) =>
    isValidElement(child) ? cloneElement(child, { disabled: Boolean(child.props.disabled) || blocked }) : child,
  );
}

// Bilten door scanner: the part of /scan that must work without the server.
//
// Reflex renders the page; this module holds what the page shows while scanning (a small store
// read through `useScan()`), decides tickets on the device when the network is gone (Ed25519
// signature, event tag, revocation list, known check-ins, this device's own scans), keeps the
// offline queue in localStorage and uploads it with the original scan times when the network
// returns. Online, every scan is decided by the server (POST /api/v1/orders/validate).
//
// Everything is reachable from the page through plain functions (no Reflex event queue, which
// stalls while the websocket is down). Nothing here touches `window` at import time (prerender).

import { useSyncExternalStore } from "react";

const API = "/api/v1";
const KEY = {
  // Written by Reflex (ScanState's rx.LocalStorage vars) on sign-in, read here.
  token: "bilten_scan_token",
  device: "bilten_scan_device",
  email: "bilten_scan_email",
  // This module's own.
  event: "bilten_scan_event",
  gate: "bilten_scan_gate",
  texts: "bilten_scan_texts",
  events: "bilten_scan_events",
  counts: "bilten_scan_counts",
  queue: "bilten_scan_queue",
  conflicts: "bilten_scan_conflicts",
  data: (eventId) => `bilten_scan_data:${eventId}`,
  mine: (eventId) => `bilten_scan_mine:${eventId}`,
};
const REFRESH_MS = 15000; // scan-data and queue upload while online
const RETRY_MS = 5000; // probing for the server while offline
const ONLINE_TIMEOUT_MS = 1500; // an online verdict slower than this is decided on the device
const SAME_PRESENTATION_MS = 1200; // one ticket held in front of the camera counts once
const VALID_SHOWN_MS = 2500;
const REFUSAL_SHOWN_MS = 8000;
const UPLOAD_BATCH = 200;
const KEPT_CONFLICTS = 20;

// ---------------------------------------------------------------------------------------------
// Ticket codes: base32 of version(1) | event tag(4) | ticket id(16) | Ed25519 signature(64)

const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const CODE_LENGTH = 136;

export function normalizeCode(raw) {
  return String(raw ?? "").replace(/\s+/g, "").toUpperCase();
}

function base32Decode(text) {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let index = 0;
  for (const char of text) {
    const digit = B32.indexOf(char);
    if (digit < 0) return null;
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (value >>> bits) & 0xff;
    }
  }
  return out;
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function uuidFromBytes(bytes) {
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The parts of a code, or {ok: false} when it is not one of ours (no signature check). */
export function parseCode(raw) {
  const text = normalizeCode(raw);
  if (text.length !== CODE_LENGTH) return { ok: false, text };
  const bytes = base32Decode(text);
  if (!bytes || bytes.length !== 85 || bytes[0] !== 1) return { ok: false, text };
  return {
    ok: true,
    text,
    tag: hex(bytes.subarray(1, 5)),
    ticketId: uuidFromBytes(bytes.subarray(5, 21)),
    payload: bytes.slice(0, 21),
    signature: bytes.slice(21),
  };
}

// Ticket references (bilten/services/ticket_references.py): typed at the door when a QR will not
// scan. Crockford base32 without I, L, O, U; case, spaces and dashes ignored; O reads 0, I and L read 1.
const REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const REFERENCE_LENGTH = 10;
const REFERENCE_LOOK_ALIKES = { O: "0", I: "1", L: "1" };

/** What a person typed, as the server stores it, or "" when it cannot be a reference. */
export function normalizeReference(raw) {
  const text = String(raw ?? "")
    .slice(0, REFERENCE_LENGTH * 4)
    .replace(/[\s\u00a0\-\u2010-\u2014\u2212]+/g, "")
    .toUpperCase()
    .replace(/[OIL]/g, (char) => REFERENCE_LOOK_ALIKES[char]);
  if (text.length !== REFERENCE_LENGTH) return "";
  return [...text].every((char) => REFERENCE_ALPHABET.includes(char)) ? text : "";
}

const eventTag = (eventId) => String(eventId).replace(/-/g, "").slice(0, 8).toLowerCase();

function base64UrlDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// Ed25519: WebCrypto where the browser has it (Chromium, Firefox, Safari 17+), @noble/ed25519
// otherwise (loaded only then). Keys are imported once per event.
const keys = new Map();
let nobleModule = null;
let forceNoble = false;

async function noble() {
  nobleModule ??= import("@noble/ed25519");
  return nobleModule;
}

async function publicKey(b64) {
  const cacheKey = (forceNoble ? "noble:" : "") + b64;
  let entry = keys.get(cacheKey);
  if (!entry) {
    entry = (async () => {
      const raw = base64UrlDecode(b64);
      if (!forceNoble && globalThis.crypto?.subtle) {
        try {
          const key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
          return { webcrypto: key, raw };
        } catch {
          // No Ed25519 in this browser's WebCrypto.
        }
      }
      return { webcrypto: null, raw };
    })();
    keys.set(cacheKey, entry);
  }
  return entry;
}

export async function verifySignature(publicKeyB64, parsed) {
  const key = await publicKey(publicKeyB64);
  try {
    if (key.webcrypto) {
      return await crypto.subtle.verify({ name: "Ed25519" }, key.webcrypto, parsed.signature, parsed.payload);
    }
    const ed = await noble();
    return await ed.verifyAsync(parsed.signature, parsed.payload, key.raw);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Persistence (localStorage: small, synchronous, survives reloads and restarts)

const load = (key, fallback) => {
  try {
    const text = localStorage.getItem(key);
    return text ? JSON.parse(text) : fallback;
  } catch {
    return fallback;
  }
};
const save = (key, value) => {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or blocked: the in-memory copy still works until the page closes.
  }
};
const raw = (key) => {
  try {
    return localStorage.getItem(key) || "";
  } catch {
    return "";
  }
};

// ---------------------------------------------------------------------------------------------
// The store

const EMPTY = {
  ready: false,
  online: true,
  signedIn: false,
  email: "",
  deviceId: "",
  problem: "", // "revoked" | "forbidden"
  t: {},
  dir: "",
  lang: "en",
  events: [],
  eventId: "",
  event: null,
  gate: "",
  hasData: false,
  dataAt: "",
  dataAtText: "",
  queue: 0,
  swReady: false,
  syncing: false,
  syncNote: "",
  counts: { checkedIn: 0, expected: 0, pending: 0, byGate: [] },
  verdict: null,
  camera: "",
  cameraEpoch: 0,
  conflicts: [],
  confirmSignOut: false,
  lastMs: -1,
};

let state = EMPTY;
const listeners = new Set();
let started = false;

// What the device knows about the selected event (kept out of the React snapshot: large).
let data = null; // {public_key, revoked: Set, checkins: Map(ticket_id -> scanned_at), generated_at}
let mine = {}; // ticket_id -> {at, gate}: valid scans made on this device
let queue = [];
let serverCounts = {}; // event id -> {checked_in, expected, by_gate: [{gate, n}]}
let token = "";
let unreachable = false;
let syncTimer = null;
let verdictTimer = null;
let scanSeq = 0;
let shownSeq = 0;
let lastSeen = { code: "", at: 0 };

function set(patch) {
  state = { ...state, ...patch };
  listeners.forEach((listener) => listener());
}

function subscribe(listener) {
  listeners.add(listener);
  start();
  return () => listeners.delete(listener);
}

const snapshot = () => state;
const serverSnapshot = () => EMPTY;

/** The store's snapshot, for the page (through the hook the Python side declares). */
export function useScan() {
  return useSyncExternalStore(subscribe, snapshot, serverSnapshot);
}

function tr(key, params = {}) {
  // A counted text is kept once per CLDR plural category ("scan.sync_done#one", "#other", ...).
  const category = typeof params.count === "number" ? pluralCategory(params.count) : "";
  const text = state.t[key] ?? state.t[`${key}#${category}`] ?? state.t[`${key}#other`] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

function pluralCategory(count) {
  try {
    return new Intl.PluralRules(state.lang || "en").select(count);
  } catch {
    return "other";
  }
}

function isOnline() {
  return navigator.onLine && !unreachable;
}

function start() {
  if (started || typeof window === "undefined") return;
  // The server allows the camera only in a document loaded as /scan (Permissions-Policy). Arrived
  // here by client-side navigation from another page: load the page for real, once.
  const policy = document.permissionsPolicy || document.featurePolicy;
  if (policy && !policy.allowsFeature("camera")) {
    if (!sessionStorage.getItem("bilten.scan.reloaded")) {
      sessionStorage.setItem("bilten.scan.reloaded", "1");
      window.location.reload();
      return;
    }
  } else {
    sessionStorage.removeItem("bilten.scan.reloaded");
  }
  started = true;
  token = raw(KEY.token);
  queue = load(KEY.queue, []);
  serverCounts = load(KEY.counts, {});
  const events = load(KEY.events, []);
  const eventId = raw(KEY.event);
  state = {
    ...state,
    ready: true,
    online: navigator.onLine,
    signedIn: Boolean(token),
    email: raw(KEY.email),
    deviceId: raw(KEY.device),
    gate: raw(KEY.gate),
    events,
    conflicts: load(KEY.conflicts, []),
    ...load(KEY.texts, {}),
  };
  openEvent(events.find((e) => e.id === eventId) ? eventId : "");
  window.addEventListener("online", () => {
    unreachable = false;
    set({ online: true });
    sync();
  });
  window.addEventListener("offline", () => set({ online: false }));
  // Browsers only let a page make sound after a tap: unlock audio on the first one.
  window.addEventListener("pointerdown", unlockAudio, { passive: true });
  window.addEventListener("keydown", unlockAudio, { passive: true });
  if ("serviceWorker" in navigator && window.isSecureContext) {
    // The page, its code and the decoder are cached by the service worker: "ready offline"
    // once it is active and the event's ticket data is on the phone.
    navigator.serviceWorker
      .register("/sw.js", { scope: "/scan" })
      .then(() => navigator.serviceWorker.ready)
      .then(() => set({ swReady: true }))
      .catch(() => {});
  }
  // The first verify is slow (key import, code warm-up): do it before the first ticket.
  if (data?.public_key) verifySignature(data.public_key, parseCode("A".repeat(CODE_LENGTH)));
  window.biltenScan = { parseCode, verifySignature, decideOnDevice, benchVerify, sync, get state() { return state; } };
  sync();
}

/** Values from the Reflex state, once the server answered (never while offline). Called again
 * on every live counter update: cheap, and it never starts network work unless the device or
 * the event changed. */
export function feed(values) {
  start();
  const patch = {};
  if (values.texts && Object.keys(values.texts).length) {
    // Only the scanner's own texts are kept for offline reloads.
    const t = Object.fromEntries(Object.entries(values.texts).filter(([key]) => key.startsWith("scan.")));
    const texts = { t, dir: values.dir || "ltr", lang: values.lang || "en" };
    Object.assign(patch, texts);
    save(KEY.texts, texts);
  }
  const newToken = values.token ?? "";
  const tokenChanged = newToken !== token;
  if (tokenChanged) {
    token = newToken;
    patch.problem = ""; // a new sign-in (or none): whatever the old device ran into is over
  }
  patch.signedIn = Boolean(token);
  patch.email = values.email ?? "";
  patch.deviceId = values.deviceId ?? "";
  if (values.counts) {
    serverCounts = values.counts;
    save(KEY.counts, serverCounts);
  }
  if (Array.isArray(values.events) && token) {
    patch.events = values.events;
    save(KEY.events, values.events);
  }
  const eventBefore = state.eventId;
  set(patch);
  if (!token) {
    if (state.eventId) openEvent("");
  } else if (Array.isArray(values.events)) {
    const stillThere = values.events.find((e) => e.id === state.eventId);
    if (!stillThere) openEvent(values.events.length === 1 ? values.events[0].id : "");
    else set({ event: stillThere });
  }
  refreshCounts();
  if (token && (tokenChanged || state.eventId !== eventBefore)) sync();
}

function openEvent(eventId) {
  const event = state.events.find((e) => e.id === eventId) || null;
  data = null;
  mine = {};
  if (event) {
    const stored = load(KEY.data(event.id), null);
    if (stored) data = { ...stored, revoked: new Set(stored.revoked), checkins: new Map(stored.checkins) };
    mine = load(KEY.mine(event.id), {});
    localStorage.setItem(KEY.event, event.id);
  } else {
    localStorage.removeItem(KEY.event);
  }
  // "Not allowed" belonged to the event left behind; a revoked device stays revoked.
  const problem = state.problem === "forbidden" ? "" : state.problem;
  set({ eventId: event ? event.id : "", event, problem, verdict: null });
  set(dataStatus()); // times in the event's own time zone
  refreshCounts();
}

export function selectEvent(eventId) {
  unlockAudio();
  openEvent(eventId);
  sync();
}

export function changeEvent() {
  openEvent("");
}

export function setGate(value) {
  const gate = String(value ?? "").slice(0, 60);
  localStorage.setItem(KEY.gate, gate);
  set({ gate });
}

function dataStatus() {
  return { hasData: Boolean(data), dataAt: data?.generated_at ?? "", dataAtText: when(data?.generated_at) };
}

const gateOf = () => (state.event?.gate || state.gate || "").trim();

function refreshCounts() {
  const server = serverCounts[state.eventId] || { checked_in: 0, expected: 0, by_gate: [] };
  const pendingHere = queue.filter((s) => s.event_id === state.eventId && s.device_result === "valid");
  const byGate = new Map((server.by_gate || []).map((g) => [g.gate, g.n]));
  for (const scan of pendingHere) byGate.set(scan.gate, (byGate.get(scan.gate) || 0) + 1);
  set({
    queue: queue.length,
    counts: {
      checkedIn: (server.checked_in || 0) + pendingHere.length,
      expected: server.expected || 0,
      pending: pendingHere.length,
      byGate: [...byGate.entries()].map(([gate, n]) => ({ gate: gate || tr("scan.gate_none"), n })),
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Talking to the server

class HttpError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code || "";
  }
}

async function api(method, path, body, timeoutMs = 8000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(API + path, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        "Accept-Language": state.lang,
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      signal: controller.signal,
      cache: "no-store",
    });
    const payload = await response.json().catch(() => null);
    if (!response.ok) throw new HttpError(response.status, payload);
    if (unreachable || !state.online) {
      unreachable = false;
      set({ online: navigator.onLine });
    }
    return payload;
  } catch (error) {
    if (!(error instanceof HttpError) || error.status >= 500) {
      unreachable = true;
      set({ online: false });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function refused(error) {
  // A revoked or expired device, or staff no longer assigned: say so instead of scanning on.
  // The problem screen replaces the scanner; an older verdict must not hide it.
  const problem = error instanceof HttpError ? { 401: "revoked", 403: "forbidden" }[error.status] : undefined;
  if (!problem) return false;
  if (state.problem !== problem) {
    dismissVerdict();
    set({ problem });
    beep("error");
  }
  return true;
}

let syncing = null;

/** Upload the offline queue, then refresh the event's scan data. Safe to call any time. */
export function sync() {
  syncing ??= (async () => {
    try {
      await doSync();
    } finally {
      syncing = null;
      clearTimeout(syncTimer);
      syncTimer = setTimeout(sync, isOnline() ? REFRESH_MS : RETRY_MS);
    }
  })();
  return syncing;
}

async function doSync() {
  if (!token || state.problem === "revoked") return;
  if (!navigator.onLine) {
    set({ online: false });
    return;
  }
  try {
    await uploadQueue();
    if (state.eventId) {
      const eventId = state.eventId;
      const fresh = await api("GET", `/events/${eventId}/scan-data`);
      if (eventId !== state.eventId) return;
      const stored = {
        public_key: fresh.public_key,
        revoked: fresh.revoked,
        checkins: fresh.checkins.map((c) => [c.ticket_id, c.scanned_at]),
        generated_at: fresh.generated_at,
      };
      save(KEY.data(eventId), stored);
      const first = !data;
      data = { ...stored, revoked: new Set(stored.revoked), checkins: new Map(stored.checkins) };
      if (first) verifySignature(data.public_key, parseCode("A".repeat(CODE_LENGTH)));
      set({ ...dataStatus(), problem: state.problem === "forbidden" ? "" : state.problem });
    }
  } catch (error) {
    refused(error);
  }
}

async function uploadQueue() {
  queue = load(KEY.queue, queue);
  while (queue.length) {
    const eventId = queue[0].event_id;
    const batch = queue.filter((s) => s.event_id === eventId).slice(0, UPLOAD_BATCH);
    set({ syncing: true });
    let verdicts;
    try {
      verdicts = await api("POST", `/events/${eventId}/checkins/offline`, {
        scans: batch.map(({ event_id, ...scan }) => scan),
      });
    } finally {
      set({ syncing: false });
    }
    const sent = new Set(batch.map((s) => s.nonce));
    // Re-read first: another tab of this phone may have queued scans meanwhile.
    queue = load(KEY.queue, queue).filter((s) => !sent.has(s.nonce));
    save(KEY.queue, queue);
    let replayed = 0;
    let conflict = null;
    verdicts.forEach((verdict, i) => {
      learn(eventId, verdict, batch[i]);
      if (verdict.replayed) replayed += 1;
      if (verdict.conflict) conflict = recordConflict(eventId, verdict, batch[i]);
    });
    const parts = [tr("scan.sync_done", { count: batch.length })];
    if (replayed) parts.push(tr("scan.sync_replayed", { count: replayed }));
    set({ syncNote: parts.join(" · ") });
    refreshCounts();
    // The staff who scanned second is told, loudly, on this device: never merged silently.
    if (conflict) show(conflict);
  }
}

function recordConflict(eventId, verdict, scan) {
  const detail = tr("scan.conflict_detail", {
    time: when(scan.scanned_at),
    first: when(verdict.first_scan?.scanned_at),
    gate: verdict.first_scan?.gate || tr("scan.gate_none"),
  });
  const entry = {
    text: detail,
    ticket: verdict.ticket?.id ?? "",
    holder: verdict.ticket?.holder_name ?? "",
    ticketType: verdict.ticket?.ticket_type ?? "",
    scannedAt: scan.scanned_at,
    firstAt: verdict.first_scan?.scanned_at ?? "",
    firstGate: verdict.first_scan?.gate ?? "",
    eventId,
  };
  const conflicts = [entry, ...state.conflicts].slice(0, KEPT_CONFLICTS);
  save(KEY.conflicts, conflicts);
  set({ conflicts });
  return {
    kind: "conflict",
    holder: entry.holder,
    ticketType: entry.ticketType,
    detail,
  };
}

/** What the server told us about a ticket, kept for offline decisions. */
function learn(eventId, verdict, scan) {
  const ticketId = verdict.ticket?.id;
  if (!ticketId || eventId !== state.eventId) return;
  if (verdict.result === "valid" && !verdict.conflict) {
    if (scan && !verdict.replayed) rememberMine(ticketId, scan.scanned_at, scan.gate);
    data?.checkins.set(ticketId, verdict.first_scan?.scanned_at ?? scan?.scanned_at);
  } else if (verdict.result === "already_used" && verdict.first_scan) {
    data?.checkins.set(ticketId, verdict.first_scan.scanned_at);
  } else if (verdict.result === "cancelled") {
    data?.revoked.add(ticketId);
  }
}

function rememberMine(ticketId, at, gate) {
  mine[ticketId] = { at, gate };
  save(KEY.mine(state.eventId), mine);
}

// ---------------------------------------------------------------------------------------------
// Deciding

/** The device's own verdict on a code for the selected event (used offline). */
export async function decideOnDevice(parsed) {
  if (!parsed.ok) return { result: "invalid", reason: "not_ours" };
  if (!data?.public_key) return { result: "unknown", reason: "no_data" };
  if (parsed.tag !== eventTag(state.eventId)) return { result: "wrong_event", ticketId: parsed.ticketId };
  if (!(await verifySignature(data.public_key, parsed))) return { result: "invalid", reason: "forged" };
  const id = parsed.ticketId;
  if (data.revoked.has(id)) return { result: "cancelled", ticketId: id };
  if (mine[id]) return { result: "already_used", ticketId: id, firstAt: mine[id].at, firstGate: mine[id].gate };
  if (data.checkins.has(id)) return { result: "already_used", ticketId: id, firstAt: data.checkins.get(id) };
  return { result: "valid", ticketId: id };
}

function newNonce() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

async function submit(rawCode) {
  if (!state.eventId || !token || state.problem) return;
  const started = performance.now();
  const seq = ++scanSeq;
  const parsed = parseCode(rawCode);
  // Not a QR's code but perhaps a typed reference: the server decides it (it knows every reference).
  parsed.reference = parsed.ok ? "" : normalizeReference(rawCode);
  const scan = {
    event_id: state.eventId,
    code: parsed.reference || parsed.text,
    nonce: newNonce(),
    scanned_at: new Date().toISOString(),
    gate: gateOf(),
    device_id: state.deviceId,
  };
  let verdict = null;
  if (isOnline()) {
    try {
      const answer = await api(
        "POST",
        "/orders/validate",
        { code: scan.code, event_id: scan.event_id, gate: scan.gate, nonce: scan.nonce, scanned_at: scan.scanned_at, device_id: scan.device_id },
        ONLINE_TIMEOUT_MS,
      );
      learn(scan.event_id, answer, scan);
      verdict = await fromServer(answer, parsed);
    } catch (error) {
      if (refused(error)) return;
      if (error instanceof HttpError && error.status < 500) {
        verdict = { kind: "error", detail: error.message };
      }
      // Otherwise: no network, server down or too slow. Decide here; the same nonce makes a
      // late-arriving online scan and its queued copy count once.
    }
  }
  if (!verdict && parsed.reference) {
    // The device holds no references (they would let anyone in if a phone were lost): only online.
    verdict = { kind: "error", detail: tr("scan.reference_offline_detail"), offline: true };
  }
  if (!verdict) verdict = await offlineVerdict(parsed, scan);
  if (seq < shownSeq) return; // a newer scan already answered
  shownSeq = seq;
  verdict.ms = Math.round(performance.now() - started);
  show(verdict);
}

async function fromServer(answer, parsed) {
  const ticket = answer.ticket || {};
  // The ticket's checkout answers ({question, value}, readable in the door's language): only an
  // online verdict has them; the device's offline data holds none, so offline verdicts show none.
  const answers = Array.isArray(answer.answers) ? answer.answers : [];
  const base = { holder: ticket.holder_name || "", ticketType: ticket.ticket_type || "", answers, offline: false };
  switch (answer.result) {
    case "valid":
      return { ...base, kind: "valid" };
    case "already_used":
      return { ...base, kind: "already_used", detail: firstScanText(answer.first_scan?.scanned_at, answer.first_scan?.gate) };
    case "wrong_event":
      return { ...base, kind: "wrong_event", detail: tr("scan.wrong_event_detail") };
    case "cancelled":
      return { ...base, kind: "cancelled", detail: tr("scan.cancelled_detail") };
    default: {
      // The server says "invalid"; tell the door why when the device can see it.
      if (parsed.reference) return { ...base, kind: "invalid", detail: tr("scan.reference_not_found_detail") };
      const forged = parsed.ok && data?.public_key && !(await verifySignature(data.public_key, parsed));
      const kind = !parsed.ok ? "not_ours" : forged ? "forged" : "invalid";
      return { ...base, kind, detail: tr(`scan.${kind}_detail`) };
    }
  }
}

async function offlineVerdict(parsed, scan) {
  const local = await decideOnDevice(parsed);
  if (local.result === "unknown") return { kind: "error", detail: tr("scan.no_data") };
  const ref = local.ticketId ? tr("scan.ticket_ref", { ref: local.ticketId.slice(0, 8).toUpperCase() }) : "";
  scan.device_result = local.result;
  // Every attempt goes to the server later (it re-decides each one and reports conflicts);
  // a code that is not ours at all is only noise.
  if (local.reason !== "not_ours") {
    queue = [...load(KEY.queue, queue), scan];
    save(KEY.queue, queue);
  }
  if (local.result === "valid") rememberMine(local.ticketId, scan.scanned_at, scan.gate);
  refreshCounts();
  const base = { offline: true, holder: ref, ticketType: "", answers: [] };
  switch (local.result) {
    case "valid":
      return { ...base, kind: "valid", detail: tr("scan.valid_offline") };
    case "already_used":
      return { ...base, kind: "already_used", detail: firstScanText(local.firstAt, local.firstGate) };
    case "wrong_event":
      return { ...base, kind: "wrong_event", detail: tr("scan.wrong_event_detail") };
    case "cancelled":
      return { ...base, kind: "cancelled", detail: tr("scan.cancelled_detail") };
    default:
      return { ...base, holder: "", kind: local.reason, detail: tr(`scan.${local.reason}_detail`) };
  }
}

function when(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  const timeZone = state.event?.timezone || undefined;
  const sameDay = new Date().toDateString() === moment.toDateString();
  try {
    // To the minute, like every time Bilten shows; Latin digits as everywhere (README: Languages).
    return new Intl.DateTimeFormat(state.lang, {
      ...(sameDay ? {} : { day: "numeric", month: "short" }),
      hour: "2-digit",
      minute: "2-digit",
      numberingSystem: "latn",
      timeZone,
    }).format(moment);
  } catch {
    return moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
}

function firstScanText(at, gate) {
  if (!at) return "";
  return gate ? tr("scan.first_scanned", { time: when(at), gate }) : tr("scan.first_scanned_no_gate", { time: when(at) });
}

// ---------------------------------------------------------------------------------------------
// Showing a verdict: full screen, a sound and a vibration of its own

const GREEN = new Set(["valid"]);
const TONES = {
  valid: [[880, 0.08], [1320, 0.16]],
  already_used: [[440, 0.1], [0, 0.06], [440, 0.1], [0, 0.06], [440, 0.1]],
  not_ours: [[180, 0.6, "square"]],
  forged: [[180, 0.25, "square"], [0, 0.05], [180, 0.25, "square"], [0, 0.05], [180, 0.25, "square"]],
  invalid: [[180, 0.6, "square"]],
  wrong_event: [[660, 0.18], [330, 0.35]],
  cancelled: [[300, 0.25, "sawtooth"], [0, 0.08], [300, 0.25, "sawtooth"]],
  conflict: [[660, 0.15], [440, 0.15], [660, 0.15], [440, 0.15], [660, 0.15], [440, 0.15]],
  error: [[250, 0.4, "triangle"]],
};
const VIBRATIONS = {
  valid: [60],
  already_used: [200, 100, 200],
  not_ours: [500],
  forged: [150, 60, 150, 60, 150],
  invalid: [500],
  wrong_event: [300, 100, 300],
  cancelled: [120, 80, 120, 80, 400],
  conflict: [400, 100, 400, 100, 400],
  error: [300],
};

let audio = null;

function unlockAudio() {
  try {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    audio ??= new Context();
    if (audio.state === "suspended") audio.resume();
  } catch {
    audio = null;
  }
}

function beep(kind) {
  if (!audio) return;
  try {
    let t = audio.currentTime + 0.01;
    for (const [frequency, duration, type = "sine"] of TONES[kind] || TONES.error) {
      if (frequency) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = type;
        osc.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, t);
        gain.gain.exponentialRampToValueAtTime(0.35, t + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + duration);
        osc.connect(gain).connect(audio.destination);
        osc.start(t);
        osc.stop(t + duration + 0.02);
      }
      t += duration;
    }
  } catch {
    // No sound is better than no verdict.
  }
}

function show(verdict) {
  const kind = verdict.kind;
  const full = {
    ...verdict,
    seq: scanSeq,
    ok: GREEN.has(kind),
    title: tr(`scan.${kind}`),
    detail: verdict.detail || "",
    offline: Boolean(verdict.offline),
    ms: verdict.ms ?? -1,
  };
  set({ verdict: full, lastMs: full.ms });
  beep(kind);
  try {
    navigator.vibrate?.(VIBRATIONS[kind] || VIBRATIONS.error);
  } catch {
    // Not every browser lets a page vibrate.
  }
  clearTimeout(verdictTimer);
  verdictTimer = setTimeout(dismissVerdict, full.ok ? VALID_SHOWN_MS : REFUSAL_SHOWN_MS);
}

export function dismissVerdict() {
  clearTimeout(verdictTimer);
  if (state.verdict) set({ verdict: null });
}

// ---------------------------------------------------------------------------------------------
// Inputs: the camera and the manual field

/** The scanner's onScan: called for every frame with a code (allowMultiple). */
export function onCameraScan(detected) {
  const rawValue = detected?.[0]?.rawValue;
  if (!rawValue) return;
  const now = performance.now();
  const same = rawValue === lastSeen.code && now - lastSeen.at < SAME_PRESENTATION_MS;
  lastSeen = { code: rawValue, at: now };
  if (same) return;
  if (state.camera) set({ camera: "" });
  submit(rawValue);
}

const CAMERA_PROBLEMS = {
  "permission-denied": "camera_denied",
  "no-camera": "camera_missing",
  "insecure-context": "camera_insecure",
  "in-use": "camera_busy",
};

export function onCameraError(error) {
  set({ camera: CAMERA_PROBLEMS[error?.kind] || "camera_failed" });
}

export function restartCamera() {
  set({ camera: "", cameraEpoch: state.cameraEpoch + 1 });
}

const MANUAL_INPUT = "scan-manual-code";

export function submitManual() {
  unlockAudio();
  const input = document.getElementById(MANUAL_INPUT);
  const value = input?.value ?? "";
  if (!value.trim()) return;
  input.value = "";
  submit(value);
}

/** on_key_down of the manual field (Reflex passes the key's name). */
export function onManualKey(key) {
  if (key === "Enter") submitManual();
}

/** Signing out with scans still waiting would lose them: the page asks first. */
export function askSignOut() {
  set({ confirmSignOut: true });
}

export function cancelSignOut() {
  set({ confirmSignOut: false });
}

/** The device's part of signing out (the server's part is ScanState.sign_out, sent when online).
 * Scans not uploaded yet stay on the phone: the next sign-in uploads them. */
export function forgetDevice() {
  for (const key of [KEY.token, KEY.device, KEY.email, KEY.event]) localStorage.removeItem(key);
  token = "";
  openEvent("");
  set({ signedIn: false, email: "", deviceId: "", problem: "", confirmSignOut: false });
}

// ---------------------------------------------------------------------------------------------
// Benchmark hook (bench/bench_offline_verify.py): the same parse + verify path a scan takes.

export async function benchVerify(publicKeyB64, codes, { engine = "webcrypto", seconds = 2, concurrency = 1 } = {}) {
  forceNoble = engine === "noble";
  try {
    const key = await publicKey(publicKeyB64);
    await verifySignature(publicKeyB64, parseCode(codes[0])); // warm-up
    let done = 0;
    let ok = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      const batch = [];
      for (let i = 0; i < concurrency; i++) batch.push(verifySignature(publicKeyB64, parseCode(codes[(done + i) % codes.length])));
      for (const good of await Promise.all(batch)) if (good) ok += 1;
      done += concurrency;
    }
    const elapsed = (performance.now() - t0) / 1000;
    return { engine: key.webcrypto ? "webcrypto" : "noble", concurrency, verifies: done, ok, seconds: elapsed, perSecond: done / elapsed };
  } finally {
    forceNoble = false;
  }
}

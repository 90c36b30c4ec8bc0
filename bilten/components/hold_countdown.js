// The time left on a ticket hold, as mm:ss, ticking in the browser (no server round trips).
// `deadline` is the hold's end in epoch milliseconds; `onExpire` fires once when it is reached.
import { createElement, useEffect, useRef, useState } from "react";

function remainingMs(deadline) {
  return Math.max(0, Number(deadline || 0) - Date.now());
}

function format(ms) {
  const seconds = Math.ceil(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return String(minutes).padStart(2, "0") + ":" + String(seconds % 60).padStart(2, "0");
}

export function HoldCountdown({ deadline, onExpire, ...rest }) {
  // null until mounted: the prerendered HTML cannot know the visitor's clock.
  const [left, setLeft] = useState(null);
  const expire = useRef(onExpire);
  expire.current = onExpire;

  useEffect(() => {
    let fired = false;
    const tick = () => {
      const ms = remainingMs(deadline);
      setLeft(ms);
      if (ms === 0 && !fired) {
        fired = true;
        clearInterval(timer);
        if (expire.current) expire.current();
      }
    };
    const timer = setInterval(tick, 1000);
    tick();
    return () => clearInterval(timer);
  }, [deadline]);

  return createElement(
    "span",
    { ...rest, dir: "ltr", role: "timer", "data-remaining-ms": left === null ? "" : String(left) },
    left === null ? "--:--" : format(left),
  );
}

// Updates without reload: run `task` every few seconds while the page is visible;
// stop when it hides, catch up at once when it shows again.

export function poll(task, interval = 3000) {
  let timer = null;
  let stopped = false;
  let running = false;

  async function tick() {
    timer = null;
    if (stopped || document.visibilityState !== "visible") return;
    if (!running) {
      running = true;
      try {
        await task();
      } catch {
        /* the page shows its own errors; polling carries on */
      } finally {
        running = false;
      }
    }
    if (!stopped && document.visibilityState === "visible") timer = setTimeout(tick, interval);
  }

  function onVisibility() {
    if (document.visibilityState === "visible") {
      if (!timer && !stopped) tick();
    } else if (timer) {
      clearTimeout(timer);
      timer = null;
    }
  }

  document.addEventListener("visibilitychange", onVisibility);
  timer = setTimeout(tick, interval);
  return function stop() {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
  };
}

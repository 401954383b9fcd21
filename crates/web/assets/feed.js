// offtake dashboard: the live activity feed. Follows GET /v1/events/stream
// (read with fetch, so the API key travels as an Authorization header and
// never in a URL) from the cursor the server-rendered panel carries; on
// each new event it fetches the panel again from /app/feed, so every line
// is formatted on the server and shows only what the API lets the key see.
'use strict';

(() => {
  const STORAGE_KEY = 'offtake.apiKey';
  const RECONNECT_MS = 2000;
  const DEBOUNCE_MS = 250;
  let controller = null;
  let timer = null;

  const authorization = () => ({ Authorization: 'Bearer ' + sessionStorage.getItem(STORAGE_KEY) });

  function stop() {
    if (controller) controller.abort();
    controller = null;
  }

  function status(text) {
    const s = document.querySelector('#activity .feed-status');
    if (s) s.textContent = text;
  }

  async function refresh() {
    const box = document.querySelector('#activity .feed');
    if (!box) return;
    const r = await fetch('/app/feed', { cache: 'no-store', headers: authorization() });
    if (!r.ok) return;
    const holder = document.createElement('div');
    holder.innerHTML = await r.text();
    const fresh = holder.querySelector('.feed');
    if (fresh) box.replaceWith(fresh);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => refresh().catch(() => status('Live feed: could not refresh.')), DEBOUNCE_MS);
  }

  /** Reads the stream after `after` until aborted, reconnecting after the last event seen. */
  async function follow(after, signal) {
    let last = after;
    while (!signal.aborted) {
      try {
        const headers = Object.assign({ Accept: 'text/event-stream' }, authorization());
        const url = '/v1/events/stream?after=' + encodeURIComponent(last);
        const r = await fetch(url, { headers, signal, cache: 'no-store' });
        if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n/g, '\n');
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const id = buffer.slice(0, end).split('\n').find((line) => line.startsWith('id:'));
            buffer = buffer.slice(end + 2);
            if (id) {
              last = id.slice(3).trim();
              schedule();
            }
          }
        }
      } catch (_) {
        if (signal.aborted) return;
        status('Live feed interrupted; reconnecting…');
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  document.addEventListener('offtake:dashboard', () => {
    stop();
    const box = document.querySelector('#activity .feed');
    if (!box) return;
    controller = new AbortController();
    follow(box.dataset.feedAfter, controller.signal);
  });
  document.addEventListener('offtake:signed-out', stop);
})();

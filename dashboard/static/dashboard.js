// bullmq-ledger dashboard: refresh by polling (with ETag, paused while the tab
// is hidden) and filters that submit when changed. The pages work without it.
const body = document.body;
const stored = Number(localStorage.getItem('bullmq-ledger.refresh'));
const select = document.getElementById('refresh');
// A page with data-refresh="0" (an action's answer) never polls, whatever the stored choice.
const pollable = Number(body.dataset.refresh || 0) > 0;
let seconds = !pollable
  ? 0
  : Number.isFinite(stored) && localStorage.getItem('bullmq-ledger.refresh') !== null
    ? stored
    : Number(body.dataset.refresh);
let etag = body.dataset.etag ? `"${body.dataset.etag}"` : null;
let timer = null;

async function poll() {
  timer = null;
  if (document.hidden || seconds <= 0) return;
  try {
    const response = await fetch(location.href, {
      headers: etag ? { 'If-None-Match': etag } : {},
      cache: 'no-store',
      credentials: 'same-origin',
    });
    if (response.status === 200) {
      etag = response.headers.get('ETag');
      const next = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById('view');
      const current = document.getElementById('view');
      const editing =
        current &&
        current.contains(document.activeElement) &&
        document.activeElement.matches('input, select, textarea');
      if (next && current && !editing) {
        current.replaceWith(document.adoptNode(next));
        enhance();
      }
    }
  } catch {
    // offline or restarting: try again next time
  }
  schedule();
}

function schedule() {
  if (timer !== null) clearTimeout(timer);
  timer = seconds > 0 && !document.hidden ? setTimeout(poll, seconds * 1000) : null;
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  } else {
    void poll();
  }
});

if (select && pollable) {
  if (![...select.options].some((option) => Number(option.value) === seconds)) {
    select.add(new Option(`${seconds} s`, String(seconds)));
  }
  select.value = String(seconds);
  select.closest('label').hidden = false;
  select.addEventListener('change', () => {
    seconds = Number(select.value);
    localStorage.setItem('bullmq-ledger.refresh', String(seconds));
    schedule();
  });
}

// Selects in the filter form apply at once; text fields on Enter (the form's own submit).
function enhance() {
  for (const field of document.querySelectorAll('form.filters select')) {
    field.addEventListener('change', () => field.form.requestSubmit());
  }
}

// Back from the back-forward cache: show the fields of this URL, not what was typed before leaving.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) for (const form of document.querySelectorAll('form.filters')) form.reset();
});

enhance();
schedule();

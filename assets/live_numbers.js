// Live public numbers of events (components/live_numbers.py). The server sends each change
// once for all pages that show the event: {events: {"<event id>": {available, registered,
// capacity, waiting}}}. Here every element of this page bound to that event (props
// data-live-event, data-live, and data-live-choices / data-live-full-class) gets its new text
// and class in NiceGUI's own copy of the element, so Vue renders it and a later update from
// the server patches from the true state. The formatting is text_for() in the Python module.
(() => {
  function textFor(field, numbers, choices) {
    if (field === 'choice') {
      const left = numbers.available;
      return left <= 0 ? choices[0] : left === 1 ? choices[1] : choices[2];
    }
    return String(numbers[field]);
  }

  function apply(message) {
    // nicegui.js's global (classic script): the page's elements, reactive
    const app = typeof mounted_app === 'undefined' ? undefined : mounted_app;
    if (!app || !message || !message.events) return;
    for (const element of Object.values(app.elements)) {
      const props = element && element.props;
      const eventId = props && props['data-live-event'];
      if (eventId === undefined) continue;
      const numbers = message.events[eventId];
      if (!numbers) continue;
      const field = props['data-live'];
      const choices = props['data-live-choices'] ? JSON.parse(props['data-live-choices']) : [];
      const text = textFor(field, numbers, choices);
      if (element.text !== text) element.text = text;
      const fullClass = props['data-live-full-class'];
      if (fullClass) {
        const full = numbers.available <= 0;
        const has = element.class.includes(fullClass);
        if (full && !has) element.class = [...element.class, fullClass];
        else if (!full && has) element.class = element.class.filter((c) => c !== fullClass);
      }
    }
  }

  // nicegui.js creates window.socket when the page mounts, before it connects: listen from
  // that moment, so no broadcast that arrives after the connection is missed.
  let socket;
  Object.defineProperty(window, 'socket', {
    configurable: true,
    get: () => socket,
    set: (value) => {
      socket = value;
      if (value && typeof value.on === 'function') value.on('live_numbers', apply);
    },
  });
})();

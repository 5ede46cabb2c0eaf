// Live public numbers of events (components/live_numbers.py). The server sends each change
// once for all pages that show the event: {events: {"<event id>": {available, registered,
// capacity, waiting}}}. Here every element of this page bound to that event (prop
// data-live-event, and data-live / -choices / -full-class / -tones / -few-share / -visible /
// -share-prop) gets its new text, classes and props in NiceGUI's own copy of the element, so
// Vue renders it and a later update from the server patches from the true state. The rules
// are text_for(), tone_for(), visible_for() and share_taken() in the Python module.
(() => {
  function textFor(field, numbers, choices) {
    if (field === 'choice') {
      const left = numbers.available;
      const choice = left <= 0 ? choices[0] : left === 1 ? choices[1] : choices[2];
      return choice.replace(/\{(\w+)\}/g, (whole, name) =>
        name in numbers ? String(numbers[name]) : whole,
      );
    }
    return String(numbers[field]);
  }

  function toneFor(tones, fewShare, numbers) {
    const left = numbers.available;
    if (left <= 0) return tones[0];
    return left <= Math.max(1, Math.trunc(numbers.capacity * fewShare)) ? tones[1] : tones[2];
  }

  function visibleFor(rule, numbers) {
    const full = numbers.available <= 0;
    return rule === 'open' ? !full : full || numbers.waiting > 0;
  }

  function shareTaken(numbers) {
    const share = Math.min(numbers.registered / Math.max(numbers.capacity, 1), 1);
    return Math.round(share * 10000) / 10000;
  }

  function classesFor(props, numbers, current) {
    let classes = current;
    const toggle = (name, on) => {
      const has = classes.includes(name);
      if (on && !has) classes = [...classes, name];
      else if (!on && has) classes = classes.filter((c) => c !== name);
    };
    if (props['data-live-full-class']) toggle(props['data-live-full-class'], numbers.available <= 0);
    if (props['data-live-tones']) {
      const tones = JSON.parse(props['data-live-tones']);
      const tone = toneFor(tones, Number(props['data-live-few-share']), numbers);
      for (const each of tones) toggle(each, each === tone);
    }
    if (props['data-live-visible']) toggle('hidden', !visibleFor(props['data-live-visible'], numbers));
    return classes;
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
      if (field) {
        const choices = props['data-live-choices'] ? JSON.parse(props['data-live-choices']) : [];
        const text = textFor(field, numbers, choices);
        if (element.text !== text) element.text = text;
      }
      const classes = classesFor(props, numbers, element.class);
      if (classes !== element.class) element.class = classes;
      const shareProp = props['data-live-share-prop'];
      if (shareProp) {
        const share = shareTaken(numbers);
        if (props[shareProp] !== share) element.props = { ...props, [shareProp]: share };
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

"""Page-wide browser behaviour for screen-reader and keyboard users that Quasar leaves out.

One script in every page's head (components/frame.py adds it), so every form and dialog of
every page gets it without page code:
- a field's error message (Quasar renders it as `role=alert`, so it is announced) is tied to
  its input while it shows: `aria-invalid` and `aria-describedby` (WCAG 3.3.1, 1.3.1);
- when a dialog closes, the focus goes back to where it was before the dialog opened instead
  of falling to the top of the page (Quasar skips this when the dialog was closed with a key;
  WCAG 2.4.3).
"""

from __future__ import annotations

PAGE_SCRIPT = """<script>
(() => {
  const tieErrors = () => document.querySelectorAll('.q-field').forEach((field) => {
    const input = field.querySelector('input, textarea');
    if (!input) return;
    const alert = field.querySelector('.q-field__bottom [role=alert]');
    if (alert) {
      if (!alert.id) alert.id = (input.id || 'field-' + Math.random().toString(36).slice(2)) + '-error';
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', alert.id);
    } else if (input.hasAttribute('aria-invalid')) {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
  });
  let beforeDialog = null;
  document.addEventListener('focusin', (e) => {
    if (!e.target.closest('.q-dialog')) beforeDialog = e.target;
  });
  const returnFocus = () => {
    const now = document.activeElement;
    if ((now === null || now === document.body) && beforeDialog && beforeDialog.isConnected
        && !document.querySelector('.q-dialog')) beforeDialog.focus();
  };
  const inField = (m) => m.target.closest && m.target.closest('.q-field');
  const isDialog = (node) => node.nodeType === 1
    && (node.matches('.q-dialog, [id^="q-portal--dialog"]') || node.querySelector('.q-dialog'));
  new MutationObserver((changes) => {
    if (changes.some(inField)) tieErrors();
    if (changes.some((m) => [...m.removedNodes].some(isDialog))) setTimeout(returnFocus, 0);
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
</script>"""

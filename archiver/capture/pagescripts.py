"""The JavaScript a capture runs inside the page: the scroll pass and the consent check.

Plain strings handed to Playwright's ``page.evaluate`` by browser.py (and by the
bare-Playwright variant of bench/capture.py, so both scroll the same way).
"""

from __future__ import annotations

# Scrolls down by viewport steps, giving lazy loaders (loading=lazy, IntersectionObserver)
# two frames and a short pause at each step. Bounded by step count and a wall-clock deadline.
SCROLL_SCRIPT = """
async ([maxSteps, deadline]) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const pause = ms => new Promise(r => setTimeout(r, ms));
  const step = window.innerHeight || 800;
  let steps = 0;
  while (steps < maxSteps && Date.now() < deadline) {
    const el = document.scrollingElement || document.documentElement;
    if (!el || window.scrollY + step >= el.scrollHeight) break;
    window.scrollBy(0, step);
    steps++;
    await frame(); await frame(); await pause(25);
  }
  return steps;
}
"""
SCROLL_TOP_SCRIPT = """
async () => {
  window.scrollTo(0, 0);
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r())));
}
"""
# The full page's height in CSS pixels, as a full-page screenshot would measure it.
PAGE_HEIGHT_SCRIPT = """
() => {
  const el = document.scrollingElement || document.documentElement;
  const body = document.body;
  return Math.max(el ? el.scrollHeight : 0, body ? body.scrollHeight : 0);
}
"""
# An obvious cookie/consent overlay: a visible fixed/sticky element covering a quarter of
# the viewport whose id, class, label or text speaks of cookies or consent.
CONSENT_SCRIPT = """
() => {
  const re = /cookie|consent|gdpr|privacy|onetrust|didomi|usercentrics|sp_message|qc-cmp/i;
  const vw = window.innerWidth, vh = window.innerHeight;
  for (const el of document.querySelectorAll('body *')) {
    const st = getComputedStyle(el);
    if (st.position !== 'fixed' && st.position !== 'sticky') continue;
    if (st.display === 'none' || st.visibility === 'hidden' || Number(st.opacity) === 0) continue;
    const r = el.getBoundingClientRect();
    const w = Math.max(0, Math.min(r.right, vw) - Math.max(r.left, 0));
    const h = Math.max(0, Math.min(r.bottom, vh) - Math.max(r.top, 0));
    if (w * h < 0.25 * vw * vh) continue;
    const label = [el.id, String(el.className), el.getAttribute('aria-label') || '',
                   (el.innerText || '').slice(0, 3000)].join(' ');
    if (re.test(label)) return true;
  }
  return false;
}
"""

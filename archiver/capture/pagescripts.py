"""The JavaScript a capture runs inside the page: the scroll pass and the consent check.

Plain strings handed to Playwright's ``page.evaluate`` by browser.py (and by the
bare-Playwright variant of bench/capture.py, so both scroll the same way).
"""

# ruff: noqa: E501  (JavaScript: its lists of selectors and button words read best unwrapped)

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

# --dismiss-consent: finds one visible consent dialog in this frame (known consent managers
# first, their own element ids; then any dialog or fixed overlay that speaks of cookies or
# consent) and clicks its reject-all button, or accept-all where there is no reject. A
# generic dialog's button is chosen by its whole label (REJECT, ACCEPT), else by a short
# label's wording (REJECT_RE, ACCEPT_RE); a button that opens settings is never clicked.
# Returns {dialog, button, choice, text} for the click, or null. Looks into open shadow roots
# (Usercentrics renders there). Also reports the IAB TCF CMP id when ``__tcfapi`` answers.
CONSENT_DISMISS_SCRIPT = r"""
() => {
  const all = (root, sel) => {
    const out = [...root.querySelectorAll(sel)];
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) out.push(...all(el.shadowRoot, sel));
    return out;
  };
  const visible = el => {
    if (!el || !el.isConnected) return false;
    const st = getComputedStyle(el);
    if (st.display === 'none' || st.visibility === 'hidden' || Number(st.opacity) === 0) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const norm = s => (s || '').replace(/\s+/g, ' ').trim().toLowerCase();
  // buttons that open a settings layer instead of answering (never clicked as a choice)
  const SETTINGS = /settings|options|manage|customi[sz]e|preferences|purposes|partners|vendors|learn more|more info|read more|details|einstellungen|anpassen|verwalten|mehr erfahren|paramètres|personnaliser|gérer|en savoir plus|configur|impostazioni|personalizza|gestisci|scopri di più|instellingen|beheren|aanpassen|definições|gerir|ustawienia|inställningar|indstillinger|asetukset|nastavení|beállítás|setări|ρυθμίσεις/;
  const first = (sels, ok = () => true) => {
    for (const sel of sels) for (const el of all(document, sel)) if (visible(el) && ok(el)) return el;
    return null;
  };
  const REJECT = ['reject all', 'reject all cookies', 'reject', 'decline all', 'decline', 'deny all', 'deny',
    'refuse all', 'refuse', 'only necessary', 'necessary only', 'only essential', 'essential only',
    'use necessary cookies only', 'continue without accepting', 'disagree', 'i disagree', 'do not accept',
    'alle ablehnen', 'ablehnen', 'nur notwendige', 'nur essenzielle', 'tout refuser', 'refuser',
    'continuer sans accepter', 'refuser tout', 'rechazar todo', 'rechazar todas', 'rechazar',
    'rifiuta tutto', 'rifiuta', 'alles weigeren', 'weigeren', 'alle weigeren', 'rejeitar tudo', 'rejeitar',
    'odrzuć wszystkie', 'odrzuć', 'avvisa alla', 'neka alla', 'afvis alle', 'afvis', 'hylkää kaikki',
    'odmítnout vše', 'elutasítom', 'respinge tot', 'απόρριψη όλων'];
  const ACCEPT = ['accept all', 'accept all cookies', 'accept cookies', 'accept', 'i accept', 'agree',
    'i agree', 'agree and close', 'allow all', 'allow all cookies', 'allow', 'got it', 'ok',
    'alle akzeptieren', 'akzeptieren', 'zustimmen', 'alle zulassen', 'einverstanden', 'tout accepter',
    'accepter', "j'accepte", 'accepter et fermer', 'aceptar todo', 'aceptar todas', 'aceptar',
    'accetta tutto', 'accetta', 'accetto', 'alles accepteren', 'accepteren', 'akkoord',
    'aceitar tudo', 'aceitar', 'akceptuję', 'zaakceptuj wszystkie', 'godkänn alla', 'acceptera alla',
    'accepter alle', 'hyväksy kaikki', 'přijmout vše', 'elfogadom', 'accept toate', 'αποδοχή όλων'];
  const KNOWN = [
    {name: 'OneTrust', box: ['#onetrust-banner-sdk', '#onetrust-pc-sdk', '#onetrust-consent-sdk'],
     reject: ['#onetrust-reject-all-handler', '.ot-pc-refuse-all-handler'], accept: ['#onetrust-accept-btn-handler', '#accept-recommended-btn-handler']},
    {name: 'Quantcast Choice (InMobi)', box: ['#qc-cmp2-ui', '.qc-cmp2-container', '#qc-cmp2-container'],
     reject: ['.qc-cmp2-summary-buttons button[mode="secondary"]', 'button.qc-cmp2-reject-all'], accept: ['.qc-cmp2-summary-buttons button[mode="primary"]']},
    {name: 'Didomi', box: ['#didomi-notice', '#didomi-popup', '#didomi-host .didomi-popup-container'],
     reject: ['#didomi-notice-disagree-button', '.didomi-continue-without-agreeing', '#didomi-notice-x-button'], accept: ['#didomi-notice-agree-button']},
    {name: 'Sourcepoint', box: ['.message-container', '[id^="sp_message_container"]', '.sp_message_container'],
     reject: ['button.sp_choice_type_13', 'button[title="Reject all" i]', 'button[title="Reject" i]'], accept: ['button.sp_choice_type_11', 'button[title="Accept all" i]', 'button[title="Accept" i]']},
    {name: 'Usercentrics', box: ['#uc-center-container', '#uc-banner', '[data-testid="uc-default-wall"]', '#usercentrics-cmp-ui', '[data-testid="uc-app-container"]'],
     reject: ['[data-testid="uc-deny-all-button"]', '#deny'], accept: ['[data-testid="uc-accept-all-button"]', '#accept']},
    {name: 'Cookiebot', box: ['#CybotCookiebotDialog'],
     reject: ['#CybotCookiebotDialogBodyButtonDecline'], accept: ['#CybotCookiebotDialogBodyLevelButtonLevelOptinAllowAll', '#CybotCookiebotDialogBodyButtonAccept']},
    {name: 'Google Funding Choices', box: ['.fc-consent-root', '.fc-dialog-container'],
     reject: ['.fc-cta-do-not-consent'], accept: ['.fc-cta-consent']},
    {name: 'TrustArc', box: ['#truste-consent-track', '#truste-consent-content'],
     reject: ['#truste-consent-required'], accept: ['#truste-consent-button']},
    {name: 'CookieYes', box: ['.cky-consent-container', '.cky-modal'],
     reject: ['.cky-btn-reject'], accept: ['.cky-btn-accept']},
    {name: 'Complianz', box: ['#cmplz-cookiebanner-container', '.cmplz-cookiebanner'],
     reject: ['.cmplz-btn.cmplz-deny', '.cmplz-deny'], accept: ['.cmplz-btn.cmplz-accept', '.cmplz-accept']},
    {name: 'iubenda', box: ['#iubenda-cs-banner'],
     reject: ['.iubenda-cs-reject-btn'], accept: ['.iubenda-cs-accept-btn']},
    {name: 'Osano', box: ['.osano-cm-dialog', '.osano-cm-window'],
     reject: ['.osano-cm-denyAll', '.osano-cm-deny'], accept: ['.osano-cm-accept-all', '.osano-cm-accept']},
    {name: 'consentmanager', box: ['#cmpbox', '#cmpwrapper'],
     reject: ['.cmpboxbtnno', '#cmpbntnotxt'], accept: ['.cmpboxbtnyes', '#cmpbntyestxt']},
    {name: 'Klaro', box: ['.klaro .cookie-notice', '.klaro .cookie-modal'],
     reject: ['.klaro .cm-btn-decline', '.klaro .cn-decline'], accept: ['.klaro .cm-btn-accept-all', '.klaro .cm-btn-success']},
    {name: 'Civic Cookie Control', box: ['#ccc', '#ccc-notify', '#ccc-module'],
     reject: ['#ccc-reject-settings', '#ccc-notify-reject'], accept: ['#ccc-recommended-settings', '#ccc-notify-accept']},
    {name: 'Axeptio', box: ['#axeptio_overlay', '.axeptio_widget'],
     reject: ['#axeptio_btn_dismiss'], accept: ['#axeptio_btn_acceptAll']},
  ];
  // when no button's text is one of the words: short labels that say the same in other words
  const REJECT_RE = [/^(reject|decline|deny|refuse|disagree|object)\b/, /\b(only|just)\b.*\b(necessary|essential|required|functional)\b/,
    /\b(necessary|essential|required)\b( cookies)? only\b/, /^(continue|proceed) without (accepting|agreeing|consent)/,
    /^(do not|don't) (accept|consent|agree)/, /^(alle |cookies )?ablehnen\b/, /^nur (technisch )?(notwendige|essenzielle|erforderliche)\b/,
    /^(tout )?refuser\b/, /^continuer sans accepter/, /^(uniquement|seulement) les cookies (nécessaires|essentiels)/,
    /^rechazar\b/, /^continuar sin aceptar/, /^solo (las )?cookies (necesarias|esenciales|técnicas)/,
    /^rifiut/, /^continua senza accettare/, /^(solo|accetta solo) (i )?cookie (necessari|tecnici|essenziali)/,
    /^(alles |alle )?weigeren\b/, /^alleen (noodzakelijke|functionele|essentiële)\b/, /^(rejeitar|recusar)\b/,
    /^continuar sem aceitar/, /^(odrzuć|avvisa|neka|afvis|afwijs|hylkää|odmítnout|elutasít|respinge|απόρριψη)/];
  const ACCEPT_RE = [/^(accept|allow|agree|consent|ok|okay|got it|i understand)\b/, /^(alle |cookies )?(akzeptieren|zulassen|erlauben)\b/,
    /^(zustimmen|einverstanden)\b/, /^(tout )?accepter\b/, /^(j'accepte|d'accord)/, /^(aceptar|acepto)\b/, /^accett/,
    /^(alles |alle )?(accepteren|toestaan)\b/, /^akkoord/, /^(aceitar|concordo)\b/, /^(akceptuj|zaakceptuj|zgadzam)/,
    /^(godkänn|acceptera|tillåt|accepter alle|tillad|hyväksy|přijmout|souhlasím|elfogad|αποδοχή)/];
  let tcf = null;
  try {
    if (typeof window.__tcfapi === 'function')
      window.__tcfapi('ping', 2, r => { if (r) tcf = {cmpId: r.cmpId ?? null, cmpLoaded: !!r.cmpLoaded}; });
  } catch (e) {}
  const label = el => norm(el.innerText || el.textContent || el.value || el.getAttribute('aria-label') || el.title || '');
  const click = (dialog, el, choice) => {
    const text = label(el).slice(0, 80);
    setTimeout(() => el.click(), 0);  // after this answer: the click may remove our own frame
    return {dialog, button: el.id ? '#' + el.id : text, choice, text, tcf};
  };
  const answers = el => !SETTINGS.test(label(el));
  for (const cmp of KNOWN) {
    const box = first(cmp.box);
    if (!box) continue;
    const rej = first(cmp.reject, answers);
    if (rej) return click(cmp.name, rej, 'reject');
    const acc = first(cmp.accept, answers);
    if (acc) return click(cmp.name, acc, 'accept');
  }
  const re = /cookie|consent|gdpr|privacy|datenschutz|confidentialit|privacidad|riservatezza|tcf/i;
  const boxes = all(document, '[role="dialog"], [role="alertdialog"], [aria-modal="true"], dialog, div, section, aside, form')
    .filter(el => {
      if (!visible(el)) return false;
      const st = getComputedStyle(el);
      const modal = el.matches('[role="dialog"], [role="alertdialog"], [aria-modal="true"], dialog');
      if (!modal && st.position !== 'fixed' && st.position !== 'sticky') return false;
      const words = [el.id, String(el.className), el.getAttribute('aria-label') || '', (el.innerText || '').slice(0, 3000)].join(' ');
      return re.test(words);
    });
  for (const box of boxes) {
    const buttons = [...box.querySelectorAll('button, [role="button"], a, input[type="button"], input[type="submit"]')].filter(visible);
    const short = buttons.filter(b => label(b).length <= 60 && answers(b));
    const what = box.id ? '#' + box.id : (box.getAttribute('aria-label') || box.tagName.toLowerCase());
    for (const [choice, words, patterns] of [['reject', REJECT, REJECT_RE], ['accept', ACCEPT, ACCEPT_RE]]) {
      let hit = null;
      for (const word of words) if (!hit) hit = buttons.find(b => label(b) === word);
      for (const pattern of patterns) if (!hit) hit = short.find(b => pattern.test(label(b)));
      if (hit) return click('generic dialog (' + what + ')', hit, choice);
    }
  }
  return null;
}
"""

# Walls still hiding the article after the capture's options did their work: a list of
# 'consent', 'login/paywall', 'bot check'. A consent wall as CONSENT_SCRIPT sees it; a bot
# check by its title, text or challenge widgets (Cloudflare, Turnstile, reCAPTCHA,
# hCaptcha, PerimeterX, DataDome, Incapsula/Imperva, Akamai, Sucuri, DDoS-Guard); a
# paywall by a visible paywall element (Piano, class or id naming a paywall or regwall), a
# large overlay asking the reader to log in or subscribe, or a short box in the page saying
# the article stops here ("You've reached your free article limit").
WALL_SCRIPT = (
    """
() => {
  const walls = [];
  const consent = ("""
    + CONSENT_SCRIPT.strip()
    + r""")();
  if (consent) walls.push('consent');
  const visible = el => {
    const st = getComputedStyle(el);
    if (st.display === 'none' || st.visibility === 'hidden' || Number(st.opacity) === 0) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const text = (document.body ? document.body.innerText : '').slice(0, 20000);
  const bot = /just a moment|attention required|checking your browser|verify you are human|are you a robot|are you human|ddos-guard|checking if the site connection is secure|enable javascript and cookies to continue|press (and|&) hold|please enable js and disable any ad ?blocker|incapsula incident id|pardon our interruption|sucuri website firewall|you have been blocked/i;
  const botWidgets = '#challenge-form, #challenge-running, #cf-challenge-running, .cf-challenge, .cf-turnstile, [name="cf-turnstile-response"], iframe[src*="challenges.cloudflare.com"], .g-recaptcha, .h-captcha, #px-captcha, #captcha-container, iframe[src*="captcha-delivery.com"], iframe[src*="_Incapsula_Resource"]';
  let datadome = false;  // DataDome's block page defines dd = {..., host: '...captcha-delivery.com'}
  try { datadome = typeof window.dd === 'object' && window.dd !== null && /captcha-delivery/.test(String(window.dd.host || '')); } catch (e) {}
  const akamai = /access denied/i.test(document.title) && /reference #[0-9a-f]+\./i.test(text);
  if (bot.test(document.title) || (text.length < 3000 && bot.test(text)) || datadome || akamai ||
      [...document.querySelectorAll(botWidgets)].some(el => el.tagName === 'INPUT' || el.tagName === 'IFRAME' || visible(el)))
    walls.push('bot check');
  const payEls = '[class*="paywall" i], [id*="paywall" i], [class*="regwall" i], [id*="regwall" i], [data-testid*="paywall" i], .tp-modal, .tp-container-inner, .piano-offer, [class*="subscriber-only" i], [class*="premium-wall" i]';
  const pay = /subscribe to (continue|read)|subscribers only|for subscribers|log ?in to (continue|read)|sign ?in to (continue|read)|create a free account to continue|already a subscriber|jetzt abonnieren|weiterlesen mit|abonnenten|réservé aux abonnés|abonnez-vous|solo para suscriptores|suscríbete|riservato agli abbonati|abbonati per|alleen voor abonnees/i;
  // a paywall element is a box, not the page: <body class="paywall"> or an article wrapper
  // with such a class marks a metered site, not a wall
  let paywall = [...document.querySelectorAll(payEls)].some(el =>
    el !== document.body && el !== document.documentElement && (el.innerText || '').length < 1500 && visible(el));
  if (!paywall) {
    const vw = window.innerWidth, vh = window.innerHeight;
    for (const el of document.querySelectorAll('body *')) {
      const st = getComputedStyle(el);
      if (st.position !== 'fixed' && st.position !== 'sticky' && st.position !== 'absolute') continue;
      if (!visible(el)) continue;
      const r = el.getBoundingClientRect();
      const w = Math.max(0, Math.min(r.right, vw) - Math.max(r.left, 0));
      const h = Math.max(0, Math.min(r.bottom, vh) - Math.max(r.top, 0));
      if (w * h < 0.2 * vw * vh) continue;
      const t = (el.innerText || '').slice(0, 3000);
      if (pay.test(t) || (el.querySelector('input[type="password"]') && /log ?in|sign ?in|anmelden|connexion/i.test(t))) { paywall = true; break; }
    }
  }
  if (!paywall) {
    // a box in the page's flow that says the article stops here (no overlay, no telling class)
    const stop = /subscribe to (continue|keep) reading|(log|sign) ?in to (continue|keep) reading|this (article|story) is (only )?(available )?(for|to) (subscribers|members)|you('ve| have) reached (your|the) (free )?(article )?limit|register (now )?(for free )?to continue reading|create a free account to continue reading|réservé aux abonnés|dieser artikel ist (nur )?für abonnenten|exclusivo para suscriptores|riservato agli abbonati/i;
    // each text's nearest block, once: linear in the page, however deep it nests
    const seen = new Set();
    const texts = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node && !paywall; node = texts.nextNode()) {
      const box = node.parentElement && node.parentElement.closest('div, section, aside, p, h2, h3');
      if (!box || seen.has(box)) continue;
      seen.add(box);
      const t = box.innerText || '';
      if (t.length <= 600 && stop.test(t) && visible(box)) paywall = true;
    }
  }
  if (paywall) walls.push('login/paywall');
  return walls;
}
"""
)

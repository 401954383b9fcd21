// offtake dashboard: sign-in, loading the server-rendered dashboard, and
// signing documents in the browser (WebCrypto Ed25519). The API key lives
// in sessionStorage (this tab only) and goes out only as an Authorization
// header to this server. Private signing keys are read from a file the
// user picks, used here, and never sent anywhere.
'use strict';

(() => {
  const STORAGE_KEY = 'offtake.apiKey';
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  // ---- API key and requests ------------------------------------------

  const apiKey = () => sessionStorage.getItem(STORAGE_KEY);

  function randomHex(bytes) {
    const a = new Uint8Array(bytes);
    crypto.getRandomValues(a);
    return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function request(path, options = {}) {
    const headers = Object.assign({ Authorization: 'Bearer ' + apiKey() }, options.headers || {});
    return fetch(path, Object.assign({ cache: 'no-store' }, options, { headers }));
  }

  /** The API's problem detail of a failed response, as one line. */
  async function problemText(response) {
    try {
      const p = await response.json();
      return (p.detail || p.title || response.statusText) + (p.code ? ' (' + p.code + ')' : '');
    } catch (_) {
      return response.status + ' ' + response.statusText;
    }
  }

  async function postJson(path, body) {
    return request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'web-' + randomHex(16) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  // ---- Messages ---------------------------------------------------------

  function flash(text, kind) {
    const f = $('#flash');
    f.textContent = text;
    f.className = kind || '';
  }

  function say(el, text, kind) {
    if (!el) return;
    el.textContent = text;
    el.className = 'form-status ' + (kind || '');
  }

  // ---- Sign-in and loading ----------------------------------------------

  function showSignIn(message) {
    document.dispatchEvent(new CustomEvent('offtake:signed-out'));
    $('#app').hidden = true;
    $('#app').textContent = '';
    $('#session').hidden = true;
    $('#sign-in').hidden = false;
    $('#sign-in-error').textContent = message || '';
    document.title = 'Sign in – offtake dashboard';
    $('#api-key').focus();
  }

  async function load(focusTitle) {
    const app = $('#app');
    app.setAttribute('aria-busy', 'true');
    let response;
    try {
      response = await request('/app/dashboard');
    } catch (e) {
      app.removeAttribute('aria-busy');
      flash('The server did not answer: ' + e.message, 'error');
      return false;
    }
    app.removeAttribute('aria-busy');
    if (response.status === 401) {
      sessionStorage.removeItem(STORAGE_KEY);
      showSignIn('That API key is unknown or revoked.');
      return false;
    }
    if (!response.ok) {
      flash('The dashboard could not be loaded: ' + (await problemText(response)), 'error');
      return false;
    }
    app.innerHTML = await response.text();
    app.hidden = false;
    $('#sign-in').hidden = true;
    $('#session').hidden = false;
    const dash = $('#dashboard');
    $('#session-who').textContent = dash ? dash.dataset.party + ' (' + dash.dataset.role + ')' : '';
    const title = $('#page-title');
    document.title = (title ? title.textContent : 'Dashboard') + ' – offtake';
    wire(app);
    if (focusTitle && title) title.focus();
    document.dispatchEvent(new CustomEvent('offtake:dashboard'));
    return true;
  }

  $('#sign-in-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = $('#api-key').value.trim();
    if (!/^otk_[0-9a-f]+_[0-9a-f]+$/.test(key)) {
      $('#sign-in-error').textContent = 'An API key looks like otk_… (letters a-f and digits).';
      $('#api-key').focus();
      return;
    }
    sessionStorage.setItem(STORAGE_KEY, key);
    $('#api-key').value = '';
    flash('');
    await load(true);
  });

  $('#sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(STORAGE_KEY);
    flash('Signed out.');
    showSignIn('');
  });

  $('#refresh').addEventListener('click', async () => {
    if (await load(false)) flash('Refreshed.');
  });

  // ---- Signing (DSSE over RFC 8785 JSON, Ed25519) ------------------------

  /** RFC 8785 canonical JSON of the plain values the documents hold. */
  function canonical(value) {
    if (value === null || typeof value !== 'object') {
      if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('numbers must be finite');
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
    // Default sort compares UTF-16 code units, as RFC 8785 requires.
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonical(value[k])).join(',') + '}';
  }

  const utf8 = (text) => new TextEncoder().encode(text);

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function base64(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  function fromHex(hex) {
    if (!/^([0-9a-f]{2})+$/i.test(hex)) throw new Error('not hex');
    return new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
  }

  const toHex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

  /** DSSE pre-authentication encoding. */
  function pae(payloadType, body) {
    const t = utf8(payloadType);
    return concat(utf8('DSSEv1 ' + t.length + ' '), t, utf8(' ' + body.length + ' '), body);
  }

  // PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410).
  const PKCS8_ED25519_PREFIX = fromHex('302e020100300506032b657004220420');

  /** Reads an `offtake keygen` private key file and imports it. */
  async function loadSigningKey(file, party, role) {
    if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
      throw new Error('signing in the browser needs HTTPS or localhost; upload a signed envelope instead');
    }
    let k;
    try {
      k = JSON.parse(await file.text());
    } catch (_) {
      throw new Error('that file is not an offtake key file');
    }
    if (k.type !== 'offtake-ed25519-private-key' || typeof k.secret_key !== 'string') {
      throw new Error('that file is not an offtake private key file (offtake keygen writes one)');
    }
    if (party && k.party !== party) throw new Error('that key is ' + k.party + "'s, not " + party + "'s");
    if (role && k.role !== role) throw new Error('that key signs as ' + k.role + ', not as ' + role);
    const seed = fromHex(k.secret_key);
    if (seed.length !== 32) throw new Error('secret_key must be 32 bytes of hex');
    const der = concat(PKCS8_ED25519_PREFIX, seed);
    seed.fill(0);
    let key;
    try {
      key = await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, true, ['sign']);
    } catch (e) {
      throw new Error('this browser cannot sign with Ed25519 (' + e.message + '); upload a signed envelope instead');
    } finally {
      der.fill(0);
    }
    // The file's public key and key id must be this secret's.
    const jwk = await crypto.subtle.exportKey('jwk', key);
    const pub = Uint8Array.from(atob(jwk.x.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const keyId = toHex(await crypto.subtle.digest('SHA-256', pub)).slice(0, 32);
    if (toHex(pub) !== k.public_key || keyId !== k.key_id) {
      throw new Error("the key file's public key or key id does not match its secret");
    }
    return { key, keyId };
  }

  /** Seals `doc` in a DSSE envelope signed by `signer`. */
  async function seal(docType, doc, signer) {
    const payloadType = 'application/vnd.offtake.' + docType + '+json';
    const body = utf8(canonical(doc));
    const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, signer.key, pae(payloadType, body)));
    return { payloadType, payload: base64(body), signatures: [{ keyid: signer.keyId, sig: base64(sig) }] };
  }

  const isoAt = (msFromNow) => new Date(Date.now() + msFromNow).toISOString();
  const DAY_MS = 24 * 3600 * 1000;

  async function readEnvelope(file) {
    try {
      return JSON.parse(await file.text());
    } catch (_) {
      throw new Error('that file is not a JSON envelope');
    }
  }

  // ---- Forms --------------------------------------------------------------

  const AMOUNT = /^(0|[1-9][0-9]{0,15})(\.[0-9]{1,4})?$/;

  function wireDraw(form) {
    const status = $('#draw-status', form);
    const amount = $('#draw-amount', form);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = $('#draw-submit', form);
      const option = $('#draw-facility', form).selectedOptions[0];
      const keyFile = $('#draw-key', form).files[0];
      const envFile = $('#draw-envelope', form).files[0];
      let envelope;
      try {
        if (envFile) {
          envelope = await readEnvelope(envFile);
        } else {
          const value = amount.value.trim();
          if (!AMOUNT.test(value) || /^0(\.0+)?$/.test(value)) {
            amount.setAttribute('aria-invalid', 'true');
            amount.focus();
            throw new Error('enter a positive amount such as 25000.00');
          }
          amount.removeAttribute('aria-invalid');
          if (!keyFile) {
            $('#draw-key', form).focus();
            throw new Error('choose your signing key file, or a signed envelope');
          }
          say(status, 'Signing…');
          const signer = await loadSigningKey(keyFile, form.dataset.maker, 'maker');
          const id = 'adv-' + new Date().toISOString().slice(0, 10).replace(/-/g, '') + '-' + randomHex(4);
          const doc = {
            type: 'advance_request',
            version: 1,
            doc_id: id,
            issued_at: isoAt(-5000),
            expires_at: isoAt(7 * DAY_MS),
            nonce: randomHex(16),
            facility: option.value,
            maker: form.dataset.maker,
            amount: value,
            currency: option.dataset.currency,
          };
          const purpose = $('#draw-purpose', form).value.trim();
          if (purpose) doc.purpose = purpose;
          envelope = await seal('advance_request', doc, signer);
        }
      } catch (e) {
        say(status, 'Not sent: ' + e.message + '.', 'error');
        return;
      }
      button.disabled = true;
      say(status, 'Sending the signed request…');
      const response = await postJson('/v1/advances', envelope);
      button.disabled = false;
      if (!response.ok) {
        say(status, 'Refused: ' + (await problemText(response)), 'error');
        return;
      }
      const advance = await response.json();
      await load(false);
      flash('Draw ' + advance.id + ' requested: pending the lender\u2019s approval.', 'ok');
      const row = document.querySelector('[data-advance-status="' + CSS.escape(advance.id) + '"]');
      if (row) row.closest('tr').classList.add('highlight');
      $('#flash').focus();
    });
  }

  function wireApprovals(form) {
    const status = $('#approve-status', form);
    $$('button.approve, button.reject', form).forEach((button) => {
      button.addEventListener('click', async () => {
        const decision = button.classList.contains('approve') ? 'approve' : 'reject';
        const d = button.dataset;
        const keyFile = $('#approve-key', form).files[0];
        const envFile = $('#approve-envelope', form).files[0];
        let envelope;
        try {
          if (envFile) {
            envelope = await readEnvelope(envFile);
          } else {
            if (!keyFile) {
              $('#approve-key', form).focus();
              throw new Error('choose your signing key file, or a signed approval');
            }
            say(status, 'Signing…');
            const signer = await loadSigningKey(keyFile, d.lender, 'lender');
            const doc = {
              type: 'advance_approval',
              version: 1,
              doc_id: (d.advance.slice(0, 40) + '-' + decision + '-' + randomHex(4)),
              issued_at: isoAt(-5000),
              expires_at: isoAt(DAY_MS),
              nonce: randomHex(16),
              facility: d.facility,
              lender: d.lender,
              request_hash: d.requestHash,
              decision,
            };
            const reason = $('#approve-reason', form).value.trim();
            if (reason) doc.reason = reason;
            envelope = await seal('advance_approval', doc, signer);
          }
        } catch (e) {
          say(status, 'Not sent: ' + e.message + '.', 'error');
          return;
        }
        $$('button', form).forEach((b) => { b.disabled = true; });
        say(status, decision === 'approve' ? 'Approving…' : 'Rejecting…');
        const response = await postJson('/v1/advances/' + encodeURIComponent(d.advance) + '/' + decision, envelope);
        $$('button', form).forEach((b) => { b.disabled = false; });
        if (!response.ok) {
          say(status, 'Refused: ' + (await problemText(response)), 'error');
          return;
        }
        const advance = await response.json();
        await load(false);
        flash('Advance ' + advance.id + ' ' + (advance.status === 'funded' ? 'approved and funded.' : advance.status + '.'), 'ok');
        $('#flash').focus();
      });
    });
  }

  function wireAuditor(root) {
    const verify = $('#verify-chain', root);
    if (verify) {
      verify.addEventListener('click', async () => {
        const out = $('#verify-result', root);
        verify.disabled = true;
        out.textContent = 'Verifying every entry…';
        const response = await request('/app/chain-verify');
        verify.disabled = false;
        if (response.ok) out.innerHTML = await response.text();
        else out.textContent = 'Could not verify: ' + (await problemText(response));
      });
    }
    const cp = $('#checkpoint-form', root);
    if (cp) {
      cp.addEventListener('submit', async (event) => {
        event.preventDefault();
        const out = $('#checkpoint-result', cp);
        const file = $('#checkpoint-file', cp).files[0];
        if (!file) {
          out.textContent = 'Choose a checkpoint file first.';
          $('#checkpoint-file', cp).focus();
          return;
        }
        const pinned = $('#checkpoint-key', cp).value.trim();
        const query = pinned ? '?public_key=' + encodeURIComponent(pinned) : '';
        out.textContent = 'Checking…';
        const response = await request('/app/checkpoint' + query, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: await file.text(),
        });
        if (response.ok) out.innerHTML = await response.text();
        else out.textContent = 'Could not check: ' + (await problemText(response));
      });
    }
    $$('button.export', root).forEach((button) => {
      button.addEventListener('click', async () => {
        const status = $('#export-status', root);
        const params = new URLSearchParams();
        const from = $('#export-from', root).value;
        const to = $('#export-to', root).value;
        if (from) params.set('from', from);
        if (to) params.set('to', to);
        const query = params.toString() ? '?' + params.toString() : '';
        say(status, 'Preparing ' + button.dataset.file + '…');
        const response = await request(button.dataset.path + query);
        if (response.status === 404) {
          say(status, 'Exports are not available on this server.', 'error');
          return;
        }
        if (!response.ok) {
          say(status, 'Could not export: ' + (await problemText(response)), 'error');
          return;
        }
        const blob = await response.blob();
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = button.dataset.file;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
        say(status, 'Downloaded ' + button.dataset.file + ' (' + blob.size + ' bytes).', 'ok');
      });
    });
  }

  /** A queued bank credit matched by hand: posted to the API with this key. */
  function wireHandMatch(form) {
    const status = $('.form-status', form);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const brand = form.elements.brand.value.trim();
      const facility = form.elements.facility.value.trim();
      const invoices = form.elements.invoices.value.split(',').map((s) => s.trim()).filter((s) => s);
      if (!brand || !facility) {
        say(status, 'Name the brand that paid and the facility.', 'error');
        (brand ? form.elements.facility : form.elements.brand).focus();
        return;
      }
      say(status, 'Matching…');
      const path = '/v1/bank-queue/' + encodeURIComponent(form.dataset.key) + '/match';
      const response = await postJson(path, { brand, facility, invoices });
      if (!response.ok) {
        say(status, 'Refused: ' + (await problemText(response)), 'error');
        return;
      }
      const done = await response.json();
      flash('Matched ' + form.dataset.key + ': payment ' + done.payment + ' is queued for settlement.', 'ok');
      await load(false);
    });
  }

  function wire(root) {
    $$('form.hand-match', root).forEach(wireHandMatch);
    const draw = $('#draw-form', root);
    if (draw) wireDraw(draw);
    const approvals = $('#approve-form', root);
    if (approvals) wireApprovals(approvals);
    wireAuditor(root);
  }

  // ---- Start ---------------------------------------------------------------

  if (apiKey()) load(false);
  else showSignIn('');
})();

// The app's look and reach in real headless Chromium: a first run's model builds shown where the
// person is, dark mode, the phone layout, keyboard and screen-reader paths, contrast. Run like
// app.test.mjs (same server and variables); the server's registry has a model whose build is under
// way for the whole run (E2E_BUILDING_MODEL, tests/e2e/test_browser.py). Screenshots go to
// SCREENSHOT_DIR: look at them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, BASE_URL, launchBrowser, logIn, REPLY_TIMEOUT_MS, screenshot, UI_TIMEOUT_MS } from './support.mjs';

const BUILDING = process.env.E2E_BUILDING_MODEL ?? 'still-building';
const PHONE = { width: 390, height: 844 };

const RUN = Date.now().toString(36);
const USER = { email: `e2e-ui-${RUN}@example.com`, password: `pw-${RUN}-secret` };

let browser;
const contexts = [];
const consoleErrors = [];

async function newPage(who, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: BASE_URL, ...options });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(`${who}: ${message.text()}`));
  page.on('pageerror', (error) => consoleErrors.push(`${who}: ${error.message}`));
  return page;
}

/** A signed-in page with `count` conversations made through the API, on the newest one. */
async function withConversations(page, count) {
  await logIn(page, USER.email, USER.password);
  const headers = { Authorization: `Bearer ${await page.evaluate(() => localStorage.getItem('attune.token'))}` };
  const existing = (await (await page.request.get('/api/sessions', { headers })).json()).items.length;
  for (let i = existing; i < count; i += 1) {
    const answer = await page.request.post('/api/sessions', { headers, data: { title: `Conversation ${i + 1} (${RUN})` } });
    assert.equal(answer.status(), 201, await answer.text());
  }
  await page.goto('/chat');
  await page.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
  await page.locator('[data-testid="connection-status"][data-status="open"]').waitFor();
}

/** Text whose contrast with what is behind it is under WCAG AA (4.5:1, or 3:1 for large text). */
function lowContrast(page) {
  return page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    const rgba = (color) => {
      context.clearRect(0, 0, 1, 1);
      context.fillStyle = color; // the canvas resolves any CSS colour (oklch too) to sRGB
      context.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = context.getImageData(0, 0, 1, 1).data;
      return [r, g, b, a / 255];
    };
    const luminance = ([r, g, b]) => {
      const channel = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    };
    const background = (element) => {
      const layers = [];
      for (let node = element; node; node = node.parentElement) {
        const color = rgba(getComputedStyle(node).backgroundColor);
        if (color[3] > 0) layers.push(color);
        if (color[3] === 1) break;
      }
      if (layers.length === 0 || layers[layers.length - 1][3] < 1) layers.push([255, 255, 255, 1]);
      return layers.reduceRight((under, over) => under.map((v, i) => (i < 3 ? over[i] * over[3] + v * (1 - over[3]) : 1)));
    };
    const problems = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      const element = text.parentElement;
      if (!text.textContent.trim() || !element || element.closest('[aria-hidden="true"], .sr-only, option, :disabled, svg')) continue;
      const box = element.getBoundingClientRect();
      const style = getComputedStyle(element);
      if (box.width === 0 || box.height === 0 || style.visibility === 'hidden' || Number(style.opacity) === 0) continue;
      const [fg, bg] = [rgba(style.color), background(element)];
      const [lighter, darker] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      const ratio = (lighter + 0.05) / (darker + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push(`${ratio.toFixed(2)} "${text.textContent.trim().slice(0, 40)}" (${style.color} on ${bg.slice(0, 3)})`);
    }
    return [...new Set(problems)];
  });
}

/** Form controls and buttons that a screen reader would announce without a name. */
function unnamedControls(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea, button, a[href], [role="progressbar"]')]
      .filter((element) => element.getClientRects().length > 0 && !element.closest('[aria-hidden="true"]'))
      .filter((element) => {
        const labelled = element.getAttribute('aria-label') || element.getAttribute('aria-labelledby') || element.labels?.length;
        return !labelled && !(element.matches('button, a') && element.textContent.trim());
      })
      .map((element) => element.outerHTML.slice(0, 120)),
  );
}

before(async () => {
  browser = await launchBrowser();
  const signup = await browser.newContext({ baseURL: BASE_URL });
  const answer = await signup.request.post('/api/auth/signup', { data: { email: USER.email, password: USER.password, display_name: 'UI Person' } });
  assert.equal(answer.status(), 201, await answer.text());
  await signup.close();
});

after(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
});

describe('Attune looks and reads right', () => {
  test('a model that is still being built shows its progress and time left in the model picker', async () => {
    const page = await newPage('user');
    await withConversations(page, 1);
    const option = page.getByRole('option', { name: new RegExp(`^${BUILDING} \\(building — \\d+ %, about \\d+ min left\\)$`) });
    await option.waitFor({ state: 'attached' });
    assert.equal(await option.isDisabled(), true, 'a model being built cannot be picked yet');
    const building = page.getByTestId('models-building');
    await building.getByText(/^building — \d+ %, about \d+ min left$/).waitFor();
    const bar = building.getByRole('progressbar', { name: `${BUILDING} build` });
    const first = Number(await bar.getAttribute('aria-valuenow'));
    assert.ok(first >= 10 && first < 100, `progress ${first} %`);
    await screenshot(page, 'chat-model-building');
    // Any signed-in page can ask what is being built (the journal does, for its mood classifier).
    const token = await page.evaluate(() => localStorage.getItem('attune.token'));
    const builds = await (await page.request.get('/api/builds', { headers: { Authorization: `Bearer ${token}` } })).json();
    const build = builds.find((candidate) => candidate.name === BUILDING);
    assert.ok(build && build.progress >= 0.1 && build.eta_s > 0 && /^building — /.test(build.reason), JSON.stringify(builds));
    // It moves without a reload (the picker re-reads the models while one builds).
    await page.waitForFunction(
      ([name, before]) => Number(document.querySelector(`[data-testid="build-${name}"] [role="progressbar"]`)?.getAttribute('aria-valuenow')) > before,
      [BUILDING, first],
      { timeout: 60_000 },
    );
  });

  test("the admin's Models page shows the build with its progress", async (t) => {
    if (!ADMIN_EMAIL || !ADMIN_PASSWORD) return t.skip('set E2E_ADMIN_EMAIL and E2E_ADMIN_PASSWORD');
    const admin = await newPage('admin');
    await logIn(admin, ADMIN_EMAIL, ADMIN_PASSWORD);
    await admin.goto('/admin');
    const row = admin.getByTestId(`model-${BUILDING}`);
    await row.getByText('building', { exact: true }).waitFor();
    await row.getByText(/^building — \d+ %, about \d+ min left$/).waitFor();
    await row.getByRole('progressbar', { name: `${BUILDING} build` }).waitFor();
    assert.equal(await row.getByRole('button', { name: `Load ${BUILDING}` }).isDisabled(), true);
    assert.equal(await row.getByRole('button', { name: `Make ${BUILDING} the default` }).isDisabled(), true);
    assert.doesNotMatch(await row.textContent(), /attune prepare/, 'no advice to build what is being built');
    assert.deepEqual(await lowContrast(admin), [], 'the admin page reads well');
    await screenshot(admin, 'admin-model-building');
  });

  test('dark mode follows the system until the toggle is used, and the toggle is remembered', async () => {
    const dark = await newPage('dark', { colorScheme: 'dark' });
    await dark.goto('/login');
    assert.equal(await dark.evaluate(() => document.documentElement.classList.contains('dark')), true);
    assert.equal(await dark.getByTestId('theme-toggle').getAttribute('aria-pressed'), 'true');
    assert.deepEqual(await lowContrast(dark), [], 'the dark login page reads well');
    // The check itself catches grey on grey, and passes what is plainly legible.
    await dark.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<p id="probe"><span style="color:#555">grey probe</span> <span style="color:#eee">light probe</span></p>'));
    const probed = await lowContrast(dark);
    await dark.evaluate(() => document.getElementById('probe').remove());
    assert.equal(probed.length, 1, probed.join('; '));
    assert.match(probed[0], /"grey probe"/);
    await screenshot(dark, 'login-dark');
    await withConversations(dark, 3);
    assert.deepEqual(await lowContrast(dark), [], 'the dark chat reads well');
    await screenshot(dark, 'chat-dark');
    await dark.getByRole('link', { name: 'Journal' }).click();
    await dark.getByLabel('New entry').waitFor();
    assert.deepEqual(await lowContrast(dark), [], 'the dark journal reads well');
    await screenshot(dark, 'journal-dark');

    await dark.getByTestId('theme-toggle').click();
    assert.equal(await dark.evaluate(() => document.documentElement.classList.contains('dark')), false);
    await dark.reload();
    await dark.getByLabel('New entry').waitFor();
    assert.equal(await dark.evaluate(() => document.documentElement.classList.contains('dark')), false, 'light, as chosen, despite the dark system');

    const light = await newPage('light', { colorScheme: 'light' });
    await light.goto('/login');
    assert.equal(await light.evaluate(() => document.documentElement.classList.contains('dark')), false);
    assert.deepEqual(await lowContrast(light), [], 'the light login page reads well');
    await light.getByTestId('theme-toggle').click();
    await light.reload();
    assert.equal(await light.evaluate(() => document.documentElement.classList.contains('dark')), true, 'dark, as chosen, on a light system');
  });

  test('on a phone the conversations are in a drawer, and the chat has the screen', async () => {
    const phone = await newPage('phone', { viewport: PHONE, isMobile: true, hasTouch: true });
    await withConversations(phone, 6);
    assert.equal(await phone.getByRole('navigation', { name: 'Conversations' }).isVisible(), false);
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    const log = await phone.getByRole('log', { name: 'Conversation' }).boundingBox();
    assert.ok(log.height > PHONE.height / 2, `the conversation gets most of the screen (${log.height}px)`);
    await screenshot(phone, 'chat-phone');

    const opener = phone.getByRole('button', { name: 'Conversations' });
    await opener.click();
    const drawer = phone.getByRole('dialog', { name: 'Conversations' });
    await drawer.waitFor();
    const rows = drawer.getByRole('link', { name: new RegExp(`Conversation \\d \\(${RUN}\\)`) });
    assert.equal(await rows.count(), 6);
    await screenshot(phone, 'chat-phone-drawer');
    await phone.keyboard.press('Escape');
    await drawer.waitFor({ state: 'hidden' });
    assert.equal(await opener.evaluate((element) => element === document.activeElement), true, 'focus returns to the button');

    const before = phone.url();
    await opener.click();
    await drawer.getByRole('link', { name: `Conversation 1 (${RUN})` }).click();
    await drawer.waitFor({ state: 'hidden' });
    assert.notEqual(phone.url(), before, 'picking a conversation opens it and closes the drawer');
    await phone.getByRole('heading', { name: `Conversation 1 (${RUN})` }).waitFor();
  });

  test('the admin tables fit a phone by scrolling sideways inside their card', async (t) => {
    if (!ADMIN_EMAIL || !ADMIN_PASSWORD) return t.skip('set E2E_ADMIN_EMAIL and E2E_ADMIN_PASSWORD');
    const phone = await newPage('admin-phone', { viewport: PHONE, isMobile: true, hasTouch: true });
    await logIn(phone, ADMIN_EMAIL, ADMIN_PASSWORD);
    await phone.goto('/admin');
    const table = phone.getByRole('table', { name: 'Models' });
    await table.waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page itself does not scroll sideways (${overflow}px)`);
    const actions = table.getByRole('columnheader', { name: 'Actions' });
    await actions.scrollIntoViewIfNeeded();
    assert.equal(await actions.isVisible(), true, 'the Actions column can be reached');
    await screenshot(phone, 'admin-phone');
  });

  test('keyboard and screen reader: a skip link to the message box, named controls, a streamed reply announced whole', async () => {
    const page = await newPage('keyboard');
    await withConversations(page, 6);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'composer', 'the message box has the focus on load');
    // The skip links come before everything else: back from the first menu link are only they.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Chat' }).focus();
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to message box');
    await screenshot(page, 'chat-skip-link');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'composer', 'one Tab and Enter reach the message box');
    assert.deepEqual(await unnamedControls(page), [], 'every control on the chat has a name');

    const log = page.getByRole('log', { name: 'Conversation' });
    assert.equal(await log.getAttribute('aria-live'), 'polite');
    await page.evaluate(() => {
      window.__busyWhileStreaming = false;
      new MutationObserver(() => {
        if (document.querySelector('article[data-status="streaming"][aria-busy="true"]')) window.__busyWhileStreaming = true;
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await page.keyboard.type(`Tell me something calming (${RUN})`);
    await page.keyboard.press('Enter');
    const reply = page.locator('article[data-role="assistant"]').last();
    await reply.locator('xpath=self::*[@data-status!="streaming"]').waitFor({ timeout: REPLY_TIMEOUT_MS });
    assert.equal(await page.evaluate(() => window.__busyWhileStreaming), true, 'the reply is busy while it streams');
    assert.equal(await reply.getAttribute('aria-busy'), null, 'and announced once it is whole');
    assert.deepEqual(await lowContrast(page), [], 'the light chat reads well');

    const headers = { Authorization: `Bearer ${await page.evaluate(() => localStorage.getItem('attune.token'))}` };
    const long = `A long day (${RUN}). ${'I walked by the river and thought about everything that happened this year. '.repeat(12)}`;
    assert.equal((await page.request.post('/api/journal', { headers, data: { text: long } })).status(), 201);
    await page.getByRole('link', { name: 'Journal' }).click();
    await page.getByLabel('New entry').waitFor();
    const entry = page.getByTestId('journal-entry').filter({ hasText: `A long day (${RUN})` });
    const unfold = entry.getByRole('button', { name: 'Show all' });
    const folded = (await entry.boundingBox()).height;
    await screenshot(page, 'journal-long-entry');
    await unfold.click();
    assert.ok((await entry.boundingBox()).height > folded + 50, 'a long entry is folded until Show all');
    await entry.getByRole('button', { name: 'Show less' }).waitFor();
    assert.deepEqual(await unnamedControls(page), [], 'every control on the journal has a name');
    assert.deepEqual(await lowContrast(page), [], 'the light journal reads well');
  });

  test('no page logged a console error', () => {
    assert.deepEqual(consoleErrors, []);
  });
});

// End-to-end tests of the React app in real headless Chromium against a running Attune server.
//
//   BASE_URL=http://127.0.0.1:8000 E2E_ADMIN_EMAIL=... E2E_ADMIN_PASSWORD=... npm --prefix frontend run e2e
//
// The server (API + worker, with the built frontend) must already be up; the admin must exist
// (`ATTUNE_ADMIN_PASSWORD=... attune create-admin EMAIL`). Screenshots go to
// test-output/screenshots/ (or SCREENSHOT_DIR).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ADMIN_EMAIL, ADMIN_PASSWORD, BASE_URL, launchBrowser, logIn, REPLY_TIMEOUT_MS, screenshot, UI_TIMEOUT_MS } from './support.mjs';

const RUN = Date.now().toString(36);
const FACE_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAABgAAAAYCAIAAABvFaqvAAAAb0lEQVR42mOUk9NgoAZgYqASYMEvvaoiAJkb1rEBl0pGXF5DM4KgcUykmoJLlolUU3CpoVpgM5HhHKwqaeMi4p2DqZ5mYTRqEL0MwpO5CeZemnmNeEehqaRlYBPjKEw1TMSXgfhlGfHXIlQos0kFALo6Ir/oSf3QAAAAAElFTkSuQmCC';
const USER = { email: `e2e-user-${RUN}@example.com`, password: `pw-${RUN}-secret` };

let browser;
let userContext;
let page;
const consoleErrors = [];

function watchConsole(target, who) {
  target.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${who}: ${message.text()}`);
  });
  target.on('pageerror', (error) => consoleErrors.push(`${who}: ${error.message}`));
}

async function newPage(who, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport, baseURL: BASE_URL });
  const created = await context.newPage();
  created.setDefaultTimeout(UI_TIMEOUT_MS);
  watchConsole(created, who);
  return { context, page: created };
}

async function startConversation(target) {
  await target.goto('/chat');
  await target.locator('#composer').waitFor(); // the chat page's code has loaded
  // On a phone the conversations, and their New button, are in a drawer.
  const drawer = target.getByRole('button', { name: 'Conversations' });
  if (await drawer.isVisible()) await drawer.click();
  await target.getByRole('button', { name: 'New conversation' }).click();
  await target.waitForURL(/\/chat\/[0-9a-f-]{36}$/);
  await target.locator('[data-testid="connection-status"][data-status="open"]').waitFor();
}

/** The signed-in page's token, for API calls made beside the UI (not through the page). */
async function bearer(target) {
  return { Authorization: `Bearer ${await target.evaluate(() => localStorage.getItem('attune.token'))}` };
}

const replies = (target) => target.locator('article[data-role="assistant"]');

/** Sends a message and returns the locator of the reply that answers it. */
async function send(target, text) {
  // One reply at a time: the composer offers Send again once the previous reply is done.
  await target.getByRole('button', { name: 'Send' }).waitFor({ timeout: REPLY_TIMEOUT_MS });
  const before = await replies(target).count();
  const composer = target.getByRole('textbox', { name: 'Message', exact: true });
  await composer.fill(text);
  await composer.press('Enter');
  // In the conversation, not the sidebar or heading, which show it too once it names the conversation.
  await target.locator('article[data-role="user"]').getByText(text, { exact: true }).waitFor();
  const reply = replies(target).nth(before);
  await reply.waitFor({ timeout: REPLY_TIMEOUT_MS });
  return reply;
}

async function waitUntilFinished(reply) {
  await reply.locator('xpath=self::*[@data-status!="streaming"]').waitFor({ timeout: REPLY_TIMEOUT_MS });
  return reply.getAttribute('data-status');
}

before(async () => {
  browser = await launchBrowser();
  ({ context: userContext, page } = await newPage('user'));
});

after(async () => {
  await browser?.close();
});

describe('Attune in a browser', () => {
  test('a visitor signs up and lands in the chat', async () => {
    await page.goto('/');
    await page.waitForURL(/\/login$/);
    await screenshot(page, 'login');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Email').fill(USER.email);
    await page.getByLabel('Display name (optional)').fill('E2E Person');
    await page.getByLabel('Password').fill(USER.password);
    await screenshot(page, 'signup');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL(/\/chat/);
    assert.equal(await page.getByTestId('current-user').textContent(), 'E2E Person');
    // A first visit: what Attune is and is not, and a box to type in at once.
    await page.getByTestId('welcome-note').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'composer');
  });

  test('chat streams a reply token by token, with emotion badges', async () => {
    await startConversation(page);
    // Record every partial text of the streaming reply, straight from the DOM.
    await page.evaluate(() => {
      window.__partials = new Set();
      new MutationObserver(() => {
        for (const node of document.querySelectorAll('article[data-role="assistant"][data-status="streaming"]')) {
          window.__partials.add(node.textContent.length);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    const reply = await send(page, `I finally finished my project today and I feel proud (${RUN})`);
    assert.equal(await waitUntilFinished(reply), 'complete');
    const text = (await reply.locator('.prose-chat').textContent()).trim();
    assert.ok(text.length > 0, 'the reply has text');
    const partials = await page.evaluate(() => window.__partials.size);
    assert.ok(partials >= 2, `the reply arrived in pieces (saw ${partials} partial states)`);
    // The user's message carries its detected emotion; the reply its emotion and alignment.
    // The tests' tiny classifiers are rarely sure: the reading arrives either way, and is badged
    // only when the classifier is (the rule itself is checked in emotion-confidence.test.ts).
    const mine = page.locator('article[data-role="user"][data-emotion]').first();
    await mine.waitFor();
    if ((await mine.getAttribute('data-emotion')) === 'shown') await mine.getByText('you feel').waitFor();
    await reply.getByText(/^alignment -?\d\.\d\d$/).waitFor();
    await screenshot(page, 'chat');
  });

  test('a photo goes with a message, is read with its words, and both readings show', async () => {
    // A face-coloured oval, 24x24 PNG; the test server's face model is a tiny ViT that reads every photo as happy.
    await page.getByLabel('Attach a photo').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: Buffer.from(FACE_PNG, 'base64') });
    await page.getByTestId('attached-photo').getByText('not stored').waitFor();
    const text = `This is me after the race (${RUN})`;
    const reply = await send(page, text);
    assert.equal(await waitUntilFinished(reply), 'complete');
    await page.getByTestId('attached-photo').waitFor({ state: 'detached' });
    const mine = page.locator('article[data-role="user"]').filter({ hasText: text });
    const fusion = mine.getByTestId('emotion-fusion');
    await fusion.waitFor();
    assert.match(await fusion.getAttribute('data-source'), /^fused_(aligned|conflict)$/);
    assert.match(await fusion.textContent(), /words: \w+ · face: happy/);
    await screenshot(page, 'chat-photo');
  });

  test('Stop cancels a reply that is being generated', async () => {
    let status = 'complete';
    // A short reply can finish before the click lands; ask again for a longer one.
    for (let attempt = 0; attempt < 3 && status !== 'cancelled'; attempt += 1) {
      const reply = await send(page, `Please tell me a very long story about a lighthouse keeper, attempt ${attempt} (${RUN})`);
      await reply.locator('.prose-chat').filter({ hasText: /\S/ }).waitFor({ timeout: REPLY_TIMEOUT_MS });
      const stop = page.getByRole('button', { name: 'Stop' });
      if (await stop.isVisible()) await stop.click().catch(() => undefined);
      status = await waitUntilFinished(reply);
    }
    assert.equal(status, 'cancelled');
    await page.getByText('stopped', { exact: true }).last().waitFor();
    await page.getByRole('button', { name: 'Send' }).waitFor();
    await screenshot(page, 'chat-stopped');
  });

  test('a reload keeps the user signed in and shows the history', async () => {
    const url = page.url();
    const countBefore = await page.locator('article').count();
    await page.reload();
    assert.equal(page.url(), url);
    await page.getByText(`I finally finished my project today and I feel proud (${RUN})`).waitFor();
    await page.locator('[data-testid="connection-status"][data-status="open"]').waitFor();
    assert.equal(await page.locator('article').count(), countBefore);
    assert.ok((await replies(page).count()) >= 2);
  });

  test('compare mode streams two answers side by side and the chosen one joins the chat', async () => {
    await page.getByLabel('Compare with').check();
    await page.getByLabel('Second model').selectOption('tiny-b');
    const question = `Which of you answers more kindly? (${RUN})`;
    await page.getByRole('textbox', { name: 'Message' }).fill(question);
    await page.getByRole('button', { name: 'Send' }).click();
    const card = page.locator('[data-testid="comparison"]').last();
    await card.locator('[data-testid="comparison-side-b"]').getByText('B · tiny-b').waitFor();
    await page.locator('[data-testid="comparison"][data-phase="done"]').last().waitFor({ timeout: REPLY_TIMEOUT_MS });
    const answerB = (await card.locator('[data-testid="comparison-side-b"] .prose-chat').textContent()).trim();
    assert.ok(answerB.length > 0, 'side B has an answer');
    await screenshot(page, 'compare');
    await card.getByRole('button', { name: 'B is better' }).click();
    await card.getByText('The chosen answer is now part of the conversation.').waitFor();
    // The question and answer B now appear once more, outside the card, as a normal exchange.
    const history = page.locator('article[data-role="user"]').filter({ hasText: question });
    await history.nth(1).waitFor();
    await page.getByLabel('Compare with').uncheck();
  });

  test('a journal entry gets its mood', async () => {
    await page.getByRole('link', { name: 'Journal' }).click();
    await page.getByLabel('New entry').fill(`I spent the afternoon laughing with old friends and felt so happy (${RUN})`);
    await page.getByRole('button', { name: 'Save entry' }).click();
    const entry = page.getByTestId('journal-entry').filter({ hasText: RUN });
    await entry.waitFor();
    await entry.locator('xpath=self::*[@data-mood!="pending"]').waitFor({ timeout: REPLY_TIMEOUT_MS });
    const mood = await entry.getAttribute('data-mood');
    assert.ok(['joy', 'sadness', 'fear', 'anger', 'love', 'surprise'].includes(mood), `mood ${mood}`);
    await page.getByText(/Mood distribution \([1-9]\d* tagged entr/).waitFor();
    await screenshot(page, 'journal');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.ok(csv.includes(RUN) && csv.includes(mood), 'the CSV export holds the entry and its mood');
  });

  test('a non-admin sees no admin page', async () => {
    assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
    await page.goto('/admin');
    await page.getByRole('heading', { name: /403/ }).waitFor();
    const answer = await page.request.get('/api/admin/models', { headers: await bearer(page) });
    assert.equal(answer.status(), 403);
    await screenshot(page, 'admin-forbidden');
  });

  test('an admin switches the default model and a new turn uses it', async (t) => {
    if (!ADMIN_EMAIL || !ADMIN_PASSWORD) return t.skip('set E2E_ADMIN_EMAIL and E2E_ADMIN_PASSWORD');
    const { context, page: admin } = await newPage('admin');
    let original;
    try {
      await logIn(admin, ADMIN_EMAIL, ADMIN_PASSWORD);
      await admin.getByRole('link', { name: 'Admin' }).click();
      await admin.getByRole('table', { name: 'Models' }).waitFor();
      await admin.getByRole('table', { name: 'Workers' }).waitFor();
      await screenshot(admin, 'admin');
      const answer = await admin.request.get('/api/admin/models', { headers: await bearer(admin) });
      assert.equal(answer.status(), 200, await answer.text());
      const models = await answer.json();
      original = models.find((model) => model.default)?.name;
      const target = models.find((model) => !model.default && ['available', 'loaded'].includes(model.state) && model.chat);
      assert.ok(target, `a second usable chat model to switch to (models: ${JSON.stringify(models.map((m) => [m.name, m.kind, m.state]))})`);
      const row = admin.getByTestId(`model-${target.name}`);
      await row.getByRole('button', { name: `Make ${target.name} the default` }).click();
      await row.getByText('default', { exact: true }).waitFor();
      await admin.getByRole('table', { name: 'Audit log' }).getByText(target.name).first().waitFor();
      await screenshot(admin, 'admin-default-switched');

      await startConversation(admin);
      const reply = await send(admin, `Hello, which model are you? (${RUN})`);
      assert.notEqual(await waitUntilFinished(reply), 'streaming');
      assert.equal(await reply.getByTestId('reply-model').getAttribute('data-model'), target.name);
    } finally {
      if (original) await admin.request.put('/api/admin/default-model', { headers: await bearer(admin), data: { model: original } });
      await context.close();
    }
  });

  test('the chat fits a phone screen', async () => {
    const { context, page: phone } = await newPage('phone', { width: 390, height: 844 });
    try {
      await logIn(phone, USER.email, USER.password);
      await startConversation(phone);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
      await screenshot(phone, 'chat-phone');
    } finally {
      await context.close();
    }
  });

  test('logging out forgets the token', async () => {
    await page.goto('/chat');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login$/);
    assert.equal(await page.evaluate(() => localStorage.getItem('attune.token')), null);
    await userContext.close();
  });

  test('no page logged a console error', () => {
    assert.deepEqual(consoleErrors, []);
  });
});

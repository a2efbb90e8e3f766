// browser.mjs: the web view's pages in Debian's chromium (headless, through puppeteer-core):
// click from the repository to an object, a version, its changes, a file and its history,
// the plans, a failed and an interrupted plan, and a running plan whose progress changes on
// the page while its put runs; every number shown is checked against the command line's
// --json, and a screenshot of each page is written to $SHOTS.  Prints TAP.
import { execFileSync, spawn } from 'node:child_process';
import puppeteer from 'puppeteer-core';

const { CHROMIUM, URL: base, OCFLFS, ROOT, SHOTS, BIGDIR } = process.env;
let n = 0, failed = 0;
function ok(cond, what, detail) {
  n++;
  if (cond) console.log(`ok ${n} - ${what}`);
  else {
    failed++;
    console.log(`not ok ${n} - ${what}`);
    if (detail !== undefined) for (const l of String(detail).split('\n')) console.log(`#   ${l}`);
  }
}
function eq(what, want, got) {
  ok(String(want) === String(got), what, `want '${want}', got '${got}'`);
}
const cli = (...args) => JSON.parse(execFileSync(OCFLFS, args, { encoding: 'utf8' }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
const count = (page, sel) => page.$$eval(sel, (es) => es.length);
async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  console.log(`# screenshot ${SHOTS}/${name}.png`);
}
async function click(page, sel) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(sel)]);
}

const browser = await puppeteer.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 800 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  // the repository
  const ls = cli('ls', ROOT, '--json');
  await page.goto(base, { waitUntil: 'load' });
  eq('the repository page shows every object', ls.objects.length, await text(page, '#total'));
  eq('one row per object', ls.objects.length, await count(page, '#objects tbody tr'));
  const one = cli('show', ROOT, ls.objects[0].id, '--json');
  eq('the first object\'s size is its head\'s bytes', one.files.reduce((a, f) => a + f.size, 0),
    await page.$eval('#objects tbody tr td[data-bytes]', (e) => e.dataset.bytes));
  await shot(page, 'repository');
  await page.type('#q', 'obj/');
  await click(page, 'form button');
  const shown = await page.$$eval('#objects a.object', (es) => es.map((e) => e.textContent));
  eq('a search shows the matching ids', ls.objects.filter((o) => o.id.includes('obj/')).map((o) => o.id).join(','), shown.join(','));

  // an object
  await click(page, '#objects a.object');
  const id = await text(page, '#object-id');
  const log = cli('log', ROOT, id, '--json');
  eq('the object page shows its head', log.head, await text(page, '#head'));
  eq('one row per version', log.versions.length, await count(page, '#versions tbody tr'));
  const msgs = await page.$$eval('#versions td.message', (es) => es.map((e) => e.textContent));
  eq('the messages, newest first', log.versions.map((v) => v.message || '').join('|'), msgs.join('|'));
  const head = cli('show', ROOT, id, '--json');
  eq('the head tree has every file', head.files.length, await count(page, '#tree tbody tr'));
  const sizes = await page.$$eval('#tree td[data-bytes]', (es) => es.map((e) => e.dataset.bytes));
  eq('with their sizes', head.files.map((f) => f.size).join(','), sizes.join(','));
  await shot(page, 'object');

  // a version (the oldest)
  const oldest = log.versions[log.versions.length - 1].version;
  await click(page, `#versions tbody tr:last-child a.version`);
  eq('a version link shows that version', oldest, await text(page, '#tree-version'));
  const v1 = cli('show', ROOT, id, '-v', oldest, '--json');
  eq("its tree is the version's", v1.files.map((f) => f.path).join(','),
    (await page.$$eval('#tree a.file', (es) => es.map((e) => e.textContent))).join(','));
  await shot(page, 'version');

  // the changes of the version before the head (from the object page)
  await page.goto(`${base}object?id=${encodeURIComponent(id)}`, { waitUntil: 'load' });
  await click(page, '#versions tbody tr:nth-child(2) a.diff');
  const vb = log.versions[1].version, va = log.versions[2].version;
  eq('the diff is of that version', vb, await text(page, '#diff-to'));
  const diff = cli('diff', ROOT, id, va, vb, '--json');
  for (const k of ['added', 'modified', 'removed', 'renamed'])
    eq(`the diff shows what diff --json has ${k}`, diff[k].length, await text(page, `#n-${k}`));
  ok((await count(page, 'pre.diff span.add')) > 0 && (await count(page, 'pre.diff span.del')) > 0,
    'a modified text file has its line diff, lines added and removed');
  await shot(page, 'diff');

  // a modified file and its history
  await click(page, '#modified a');
  const fpath = await text(page, '#file-path');
  const vShow = cli('show', ROOT, id, '-v', vb, '--json');
  eq('the file page shows its digest', vShow.files.find((f) => f.path === fpath).digest, await text(page, '#file-digest'));
  const content = execFileSync(OCFLFS, ['cat', ROOT, id, fpath, '-v', vb], { encoding: 'utf8' });
  eq('and its text, inline', content.trim(), await text(page, '#content'));
  await shot(page, 'file');
  await click(page, 'a.history');
  const hist = cli('log', ROOT, id, fpath, '--json');
  eq("the history lists the versions that changed the file", hist.versions.length, await text(page, '#history-count'));
  eq('one row each', hist.versions.length, await count(page, '#versions tbody tr'));
  await shot(page, 'history');

  // a running plan: its page follows the put's progress.  Its first content step fails four
  // times, retried after 2, 4, 8 and 16 s: the plan runs half a minute, which the page is
  // loaded in (checked: the state it first shows is running)
  const before = cli('plans', ROOT, '--all', '--json').plans.length;
  const put = spawn(OCFLFS, ['put', ROOT, 'live/object', BIGDIR, '-m', 'a large commit', '--user', 'Live Tester'], {
    env: { ...process.env, OCFLFS_TEST_FAIL_STEP: '2:4', OCFLFS_TEST_RETRY_MS: '2000' },
    stdio: 'ignore',
  });
  const putDone = new Promise((r) => put.on('exit', (code) => r(code)));
  let planId = 0;
  for (let i = 0; i < 3000 && !planId; i++) {
    const all = cli('plans', ROOT, '--all', '--json').plans;
    if (all.length > before) planId = all[all.length - 1].id;
    else await sleep(100);
  }
  ok(planId > 0, `the large put's plan (${planId}) appears`);
  await page.goto(`${base}plan?id=${planId}`, { waitUntil: 'load' });
  const first = await text(page, '#p-state');
  const seen = new Set();
  let finished = '';
  for (let i = 0; i < 3000 && !finished; i++) { // at most about five minutes
    const s = await page.$eval('#progress', (b) => ({
      state: document.getElementById('p-state').textContent,
      steps: document.getElementById('p-steps-done').textContent,
      bytes: document.getElementById('p-bytes-done').textContent,
      error: document.getElementById('p-step-error').textContent,
      attempts: document.getElementById('p-attempts').textContent,
      finished: b.dataset.finished || '',
    }));
    if (!seen.size && s.state === 'running') await shot(page, 'plan-running');
    seen.add(JSON.stringify([s.state, s.steps, s.bytes, s.error, s.attempts]));
    finished = s.finished;
    if (!finished) await sleep(100);
  }
  eq('the plan page was loaded while the plan ran', 'running', first);
  ok(seen.size >= 3, `the page changed as the plan went on without a reload (${seen.size} states seen)`,
    [...seen].join('\n'));
  ok([...seen].some((s) => JSON.parse(s)[3] !== ''), 'a failed attempt showed its error while retried');
  eq('the page saw it finish', 'done', finished);
  eq('the put succeeded', 0, await putDone);
  const p = cli('plan', ROOT, String(planId), '--json');
  eq('the steps shown are plan --json\'s', `${p.steps_done}/${p.steps}`,
    `${await text(page, '#p-steps-done')}/${await text(page, '#p-steps')}`);
  eq('the attempts shown are the steps\'', p.step_list.reduce((a, st) => a + st.attempts, 0),
    await text(page, '#p-attempts'));
  eq('the bytes shown are plan --json\'s', `${p.bytes_done}/${p.bytes_total}`,
    `${await text(page, '#p-bytes-done')}/${await text(page, '#p-bytes-total')}`);
  await shot(page, 'plan-done');

  // a plan that failed (reverted), and one whose process was killed (interrupted)
  spawnSyncPut(['put', ROOT, 'failing/object', BIGDIR, '-m', 'fails', '--user', 'Tester'],
    { OCFLFS_TEST_FAIL_STEP: '2:9:22' });
  spawnSyncPut(['put', ROOT, 'killed/object', BIGDIR, '-m', 'killed', '--user', 'Tester'],
    { OCFLFS_TEST_KILL_AT_STEP: '2' });
  const plans = cli('plans', ROOT, '--all', '--json').plans;
  const reverted = plans.find((q) => q.object_id === 'failing/object');
  await page.goto(`${base}plans`, { waitUntil: 'load' });
  eq('the plans page has every plan', plans.length, await count(page, '#plans tbody tr'));
  const rows = await page.$$eval('#plans tbody tr', (trs) => trs.map((tr) => [tr.dataset.plan,
    tr.children[1].textContent, tr.querySelector('.steps').textContent, tr.querySelector('.bytes').dataset.done,
    tr.querySelector('.bytes').dataset.total]));
  const want = plans.slice().reverse().map((q) => [q.id, q.state, `${q.steps_done}/${q.steps}`, q.bytes_done, q.bytes_total]);
  eq('each row has plans --json\'s id, state, steps and bytes', JSON.stringify(want.map(String)), JSON.stringify(rows.map(String)));
  const shownAttempts = await page.$eval(`#plans tr[data-plan="${reverted.id}"] .attempts`, (e) => e.textContent);
  const revSteps = cli('plan', ROOT, String(reverted.id), '--json').step_list;
  eq('the failed plan\'s row has its steps\' attempts', revSteps.reduce((a, st) => a + st.attempts, 0), shownAttempts);
  await shot(page, 'plans');
  await page.goto(`${base}plan?id=${reverted.id}`, { waitUntil: 'load' });
  eq('a failed plan shows its state', reverted.state, await text(page, '#p-state'));
  ok((await text(page, '#p-last-error')).length > 0, 'and why', reverted.last_error);
  ok((await text(page, '#what-to-do')).includes('reverted'), 'and what became of it');
  await shot(page, 'plan-failed');
  const killed = plans.find((q) => q.object_id === 'killed/object');
  await page.goto(`${base}plan?id=${killed.id}`, { waitUntil: 'load' });
  eq('a killed put\'s plan is interrupted', 'interrupted', await text(page, '#p-state'));
  const what = await text(page, '#what-to-do');
  ok(what.includes(`ocflfs resume ${ROOT} ${killed.id}`) && what.includes('cancel'),
    'it says what resume and cancel would do', what);
  await shot(page, 'plan-interrupted');
  ok(errors.length === 0, 'no script error on any page', errors.join('\n'));
} catch (e) {
  ok(false, 'the browser run', e.stack);
} finally {
  await browser.close();
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);

function spawnSyncPut(args, env) {
  try {
    execFileSync(OCFLFS, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
  } catch (e) {
    /* it is meant to fail */
  }
}

/** The model card as Markdown: what came from outside is shown as text, never as HTML, a link or a table break. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { mdCode, mdText } from '../../api/markdown';
import { datasets, models, modelVersions } from '../../db/schema';
import { startTestPlatform, type TestPlatform } from '../helpers/platform';

const INTENDED_USE = '<img src=x onerror=alert(1)>\n[x](javascript:alert(1))';
const EVIL_COLUMN = 'a|b</td><script>alert(1)</script>\n# heading';
const EVIL_VALUE = '[click](javascript:alert(2)) *bold* _em_ `code` &amp;';

let t: TestPlatform;
before(async () => {
  t = await startTestPlatform({}, { api: true, orchestration: false, training: false });
  const { db } = t.database;
  await db.insert(datasets).values({
    hash: 'd'.repeat(64), sourceUri: 'https://example.com/x.csv?<b>bold</b>', format: 'csv', artifactKey: 'k', sizeBytes: 1, rows: 10,
    schema: [{ name: EVIL_COLUMN, type: 'VARCHAR', kind: 'categorical' }], statistics: { rows: 10, duplicateRows: 0, columns: [] },
  });
  await db.insert(models).values({ name: 'card', task: 'classification' });
  await db.insert(modelVersions).values({
    modelName: 'card', version: 1, task: 'classification', datasetHash: 'd'.repeat(64), target: 'y`', features: [EVIL_COLUMN],
    params: {}, metrics: { accuracy: 0.5 }, intendedUse: INTENDED_USE, artifactKey: 'a', backend: 'cpu', codeVersion: 'test',
    pipelineId: 'p1', workflowRunId: 'r1', approvedBy: '<b>mallory</b>',
    evaluation: {
      slices: { [EVIL_COLUMN]: [{ value: EVIL_VALUE, rows: 3, metrics: { accuracy: 1 } }] },
      perClass: [{ label: '<svg onload=alert(3)>', precision: 1, recall: 1, f1: 1, support: 1 }],
    } as never,
  });
});
after(async () => { await t?.stop().catch(() => {}); });

async function markdownCard() {
  const res = await fetch(`${t.url}/v1/models/card/versions/1/card?format=markdown`, { headers: { authorization: `Bearer ${t.adminToken}` } });
  assert.equal(res.status, 200);
  return { res, text: await res.text() };
}

test('an intended use with an HTML tag and a javascript: link yields a card with neither active', async () => {
  const { text } = await markdownCard();
  assert.doesNotMatch(text, /<[a-z/]/i, 'no raw tag survives');
  assert.doesNotMatch(text, /\]\(javascript:/i, 'no Markdown link survives');
  assert.match(text, /&lt;img src=x onerror=alert\\\(1\\\)&gt;\n\\\[x\\\]\\\(javascript:alert\\\(1\\\)\\\)/);
});

test('column names and slice values cannot break out of their table row', async () => {
  const { text } = await markdownCard();
  const schemaRow = text.split('\n').find((l) => l.includes('VARCHAR'))!;
  assert.equal(schemaRow, '| a\\|b&lt;/td&gt;&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\# heading | categorical | VARCHAR |');
  assert.equal(text.split('\n').filter((l) => /^#+ heading/.test(l)).length, 0, 'a line break in a value starts no heading');
  assert.match(text, /\| \\\[click\\\]\\\(javascript:alert\\\(2\\\)\\\) \\\*bold\\\* \\_em\\_ \\`code\\` &amp;amp; \| 3 \| 1 \|/);
});

test('every response says nosniff', async () => {
  const { res } = await markdownCard();
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  for (const path of ['/healthz', '/v1/nothing', '/openapi.json']) {
    assert.equal((await fetch(t.url + path)).headers.get('x-content-type-options'), 'nosniff', path);
  }
});

test('mdText escapes HTML and Markdown punctuation and keeps a value on one line', () => {
  assert.equal(mdText('a<b>&c|d\ne'), 'a&lt;b&gt;&amp;c\\|d e');
});

test('mdCode fences a value so that a backtick inside cannot end the code span', () => {
  assert.equal(mdCode('plain'), '`plain`');
  assert.equal(mdCode('a`b'), '``a`b``');
  assert.equal(mdCode('`x``'), '``` `x`` ```');
});
